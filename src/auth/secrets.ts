/** Secret fields live in the engine (validation needs them too); re-exported here for the server's use. */
export {
  SECRET_MASK,
  SecretMatcher,
  isSecretReference,
  maskChanges,
  maskSecrets,
  maskValueAt,
  plaintextSecrets,
} from '../engine/index.js';
