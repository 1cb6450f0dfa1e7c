#!/usr/bin/env node
// Runs the compiled CLI (built by `npm ci` via `prepare`); falls back to the TypeScript source through tsx
// so a checkout without a build, or GITCFG_FROM_SOURCE=1 during development, still works.
import { existsSync } from 'node:fs';

const dist = new URL('../dist/src/cli/main.js', import.meta.url);
if (existsSync(dist) && process.env.GITCFG_FROM_SOURCE !== '1') {
  await import(dist.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../src/cli/main.ts', import.meta.url).href);
}
