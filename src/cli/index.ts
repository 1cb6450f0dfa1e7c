/** The gitcfg command line (the executable entry is main.ts). */
export { buildProgram, runCli } from './program.js';
