// The module map of docs/architecture.md, enforced: `npm run lint` runs `depcruise src test bench` with this file.
// Module groups are folder names under src/; a new module must be added to one group below (see the doc).

/** Pure core: no I/O, so every server, CLI and worker can use it and tests need no disk or network. */
const PURE = 'engine|migrate|flags|bounded-cache|webhooks';
/** What a pure module may import: the pure core and the two leaves. */
const PURE_DEPS = `values|errors|${PURE}`;
/** Node built-ins that do I/O or spawn work (crypto, module, util... are fine in pure code). */
const IO_BUILTINS =
  '^(fs|fs/promises|net|http|https|http2|tls|dgram|dns|child_process|worker_threads|cluster|readline|inspector)$';

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'A cycle means neither side can be understood, tested or changed alone (and ESM load order becomes fragile). ' +
        'Break it by moving the shared piece down (often into src/values) or by passing a port to a constructor.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'index-is-the-public-surface',
      severity: 'error',
      comment:
        "Another module's index.ts is its only public surface: a deeper import couples to internals it may change " +
        'freely. src/client/openfeature.ts is a second entry because the package exports it as gitcfg/openfeature.',
      from: { path: '^src/([^/]+)/' },
      to: {
        path: '^src/',
        pathNot: ['^src/$1/', '^src/[^/]+/index\\.ts$', '^src/client/openfeature\\.ts$'],
      },
    },
    {
      name: 'values-is-the-leaf',
      severity: 'error',
      comment:
        'src/values (JSON types, Issue, Origin, JSON pointers) is imported by every layer, so it imports none.',
      from: { path: '^src/values/' },
      to: { path: '^src/', pathNot: '^src/values/' },
    },
    {
      name: 'errors-imports-only-values',
      severity: 'error',
      comment:
        'Every module throws gitcfg errors, so src/errors sits just above the leaf and imports only src/values.',
      from: { path: '^src/errors/' },
      to: { path: '^src/', pathNot: '^src/(errors|values)/' },
    },
    {
      name: 'pure-core-imports-only-pure',
      severity: 'error',
      comment:
        'The pure core (engine, migrate, flags, bounded-cache, webhooks) reaches I/O only through ports passed in ' +
        '(RepoSource, ValidatorCodeStore...), never by importing an I/O module.',
      from: { path: `^src/(${PURE})/` },
      to: { path: '^src/', pathNot: `^src/(${PURE_DEPS})/` },
    },
    {
      name: 'pure-core-does-no-io',
      severity: 'error',
      comment: 'The pure core touches no disk, network, process or thread: that is what makes it pure.',
      from: { path: `^src/(${PURE})/` },
      to: { dependencyTypes: ['core'], path: IO_BUILTINS },
    },
    {
      name: 'only-cli-imports-commands',
      severity: 'error',
      comment: 'src/commands is the composition root of each command; only the command-line wiring calls it.',
      from: { path: '^src/', pathNot: '^src/(cli|commands)/' },
      to: { path: '^src/commands/' },
    },
    {
      name: 'nothing-imports-cli',
      severity: 'error',
      comment:
        'src/cli is the entry point (the only place that calls process.exit): nothing may depend on it.',
      from: { path: '^src/', pathNot: '^src/cli/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'only-commands-imports-server',
      severity: 'error',
      comment:
        'Services never depend on HTTP: src/server is assembled by `gitcfg serve` and imports the services.',
      from: { path: '^src/', pathNot: '^src/(commands|server)/' },
      to: { path: '^src/server/' },
    },
    {
      name: 'client-stays-small',
      severity: 'error',
      comment:
        'The client SDK (gitcfg/client) runs inside applications: it imports only its own files, the leaves and ' +
        'src/data-file, so installing it never loads the engine, git or the server.',
      from: { path: '^src/client/' },
      to: { path: '^src/', pathNot: '^src/(client|values|errors|data-file)/' },
    },
    {
      name: 'client-imports-no-packages',
      severity: 'error',
      comment:
        'The SDK needs only node built-ins; the OpenFeature provider (gitcfg/openfeature) alone uses the ' +
        'OpenFeature SDKs it plugs into.',
      from: { path: '^src/client/', pathNot: '^src/client/openfeature\\.ts$' },
      to: { dependencyTypes: ['npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg', 'npm-unknown'] },
    },
    {
      name: 'data-file-imports-only-built-ins',
      severity: 'error',
      comment: 'The client ships src/data-file: it must stay a leaf of node built-ins to keep the SDK small.',
      from: { path: '^src/data-file/' },
      to: {
        dependencyTypes: ['local', 'npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg', 'npm-unknown'],
      },
    },
    {
      name: 'nothing-imports-the-client',
      severity: 'error',
      comment: 'The SDK talks to the server over HTTP only; the server side never depends on it.',
      from: { path: '^src/', pathNot: '^src/client/' },
      to: { path: '^src/client/' },
    },
    {
      name: 'isomorphic-git-only-in-git',
      severity: 'error',
      comment: 'One module owns isomorphic-git (its cache, errors and quirks are handled once, in src/git).',
      from: { path: '^src/', pathNot: '^src/git/' },
      to: { path: '(^|/)node_modules/isomorphic-git/' },
    },
    {
      name: 'express-only-in-server',
      severity: 'error',
      comment:
        'One module owns HTTP routing: every route is a RouteSpec in src/server with a declared access.',
      from: { path: '^src/', pathNot: '^src/server/' },
      to: { path: '(^|/)node_modules/express/' },
    },
    {
      name: 'ioredis-only-in-cluster',
      severity: 'error',
      comment:
        'One module owns Redis: the rest of the server sees the Fleet port, which has a local implementation.',
      from: { path: '^src/', pathNot: '^src/cluster/' },
      to: { path: '(^|/)node_modules/ioredis/' },
    },
    {
      name: 'tests-use-the-public-surface',
      severity: 'error',
      comment:
        "Tests and benchmarks import a module's index.ts. Narrow exception: a command file of src/commands, because " +
        'the index only loads commands lazily (load*) so that `validate` never loads the server.',
      from: { path: '^(test|bench)/' },
      to: {
        path: '^src/',
        pathNot: ['^src/[^/]+/index\\.ts$', '^src/client/openfeature\\.ts$', '^src/commands/[^/]+\\.ts$'],
      },
    },
  ],
  options: {
    doNotFollow: { path: '(^|/)node_modules/' },
    exclude: { path: '^(dist|bench/\\.work)/' },
    // Type-only imports count: a type import couples modules just as much.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
    },
  },
};
