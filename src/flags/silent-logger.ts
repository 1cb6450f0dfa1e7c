/** flagd-core logs every failed targeting rule; gitcfg reports through issues and OFREP answers instead. */
import type { Logger } from '@openfeature/core';

const ignore = (): void => {};

export const SILENT_LOGGER: Logger = { error: ignore, warn: ignore, info: ignore, debug: ignore };
