/** The HTTP API: `buildApp` (no listening) and `listen` (with graceful shutdown). */
export { buildApp } from './app.js';
export type { AppDeps, AppSync, ServerApp } from './app.js';
export type { AppFleet } from './routes/reads.js';
export { listen } from './listen.js';
export type { RunningServer } from './listen.js';
export { WatchHub } from './watch-hub.js';
export type { WatchEvent } from './watch-hub.js';
export type { WriteDeps } from './app.js';
export { ERROR_STATUS } from './http-io.js';
export type { HttpErrorCode } from './http-io.js';
export { assertEveryRouteDeclared, mountRoutes } from './route-table.js';
export type { AccessGuard, MountedRoutes, RouteAccess, RouteSpec } from './route-table.js';
export { CONSOLE_CSP, loadConsoleAssets } from './routes/console.js';
export type { ConsoleAssets } from './routes/console.js';
