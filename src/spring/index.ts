/**
 * Spring Cloud Config protocol (pure): request paths, Spring's flat key syntax, the `Environment` answer and
 * flat files. The HTTP routes live in the server.
 */
export {
  DEFAULT_PROFILE,
  parseLabel,
  parseProfiles,
  parseSpringPath,
  splitFileStem,
} from './request-path.js';
export type { SpringFileFormat, SpringRequest } from './request-path.js';
export { flattenProperties, mergeDocuments } from './flatten.js';
export type { FlatProperties } from './flatten.js';
export { SHARED_APPLICATION, buildEnvironment, orderDocuments, sourceName } from './environment.js';
export type { ProfileDocument, SpringEnvironment, SpringPropertySource } from './environment.js';
export { FLAT_FILE_CONTENT_TYPE, renderFlatFile, renderProperties } from './flat-file.js';
