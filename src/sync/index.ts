/** Sync: triggers, coalescing, fetch -> build -> validate -> promote or reject, status. */
export { SyncService, assertPollSchedule } from './sync-service.js';
export type { StatusError, SyncOrigin, SyncOutcome, SyncServiceOptions, SyncStatus } from './sync-service.js';
export { RejectedCommitsFile } from './rejected-commits.js';
export type { Rejection } from './rejected-commits.js';
