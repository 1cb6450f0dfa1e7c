/**
 * CLI commands as plain async functions (`{cwd, stdout, stderr, ...options}` in, `{exitCode}` out; never
 * process.exit). Each command is loaded on demand through its `load*` function so that a command only pulls
 * in its own dependencies (the pre-commit hook's `validate` must not load the server).
 */
export type { CommandIo, CommandResult, OutputStream } from './command-io.js';
export { EXIT_CODES, errorLine, exitCodeForError } from './command-io.js';
export { findPackageRoot, readPackageVersion } from './package-root.js';
export type { ValidateOptions, ValidateReport } from './validate.js';
export type { RenderOptions } from './render.js';
export type { DiffOptions, PairDiff } from './diff.js';
export type { InitOptions } from './init.js';
export type { EditorOptions } from './editor.js';
export type { LsOptions } from './ls.js';
export type { ServeHandle, ServeOptions } from './serve.js';
export type { MigrateOptions } from './migrate.js';
export type { TypesOptions } from './types.js';
export type { HistoryOptions } from './history.js';
export type { BlameOptions } from './blame.js';

/** Loads `validateCommand` (engine + git). */
export async function loadValidateCommand() {
  return (await import('./validate.js')).validateCommand;
}

/** Loads `renderCommand` (engine + git). */
export async function loadRenderCommand() {
  return (await import('./render.js')).renderCommand;
}

/** Loads `diffCommand` (engine + git). */
export async function loadDiffCommand() {
  return (await import('./diff.js')).diffCommand;
}

/** Loads `editorCommand` (engine + files). */
export async function loadEditorCommand() {
  return (await import('./editor.js')).editorCommand;
}

/** Loads `lsCommand` (engine + snapshot description). */
export async function loadLsCommand() {
  return (await import('./ls.js')).lsCommand;
}

/** Loads `initCommand` (native git + files). */
export async function loadInitCommand() {
  return (await import('./init.js')).initCommand;
}

/** Loads `serveCommand` (server, sync, snapshots: express, pino, prom-client). */
export async function loadServeCommand() {
  return (await import('./serve.js')).serveCommand;
}

/** Loads `migrateCommand` (migrations over the working tree). */
export async function loadMigrateCommand() {
  return (await import('./migrate.js')).migrateCommand;
}

/** Loads `typesCommand` (json-schema-to-typescript). */
export async function loadTypesCommand() {
  return (await import('./types.js')).typesCommand;
}

/** Loads `historyCommand` (history index over the local repository). */
export async function loadHistoryCommand() {
  return (await import('./history.js')).historyCommand;
}

/** Loads `blameCommand` (provenance of every leaf, from the local repository). */
export async function loadBlameCommand() {
  return (await import('./blame.js')).blameCommand;
}

export type { RollbackOptions } from './rollback.js';

/** Loads `rollbackCommand` (edits over the local repository). */
export async function loadRollbackCommand() {
  return (await import('./rollback.js')).rollbackCommand;
}

export type { TokenHashOptions } from './token.js';

/** Loads `tokenHashCommand` (sha256 of a token). */
export async function loadTokenHashCommand() {
  return (await import('./token.js')).tokenHashCommand;
}
