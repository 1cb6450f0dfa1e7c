// The module map of docs/architecture.md, enforced: `npm run lint:deps` cruises src, test and bench with this file.
// Modules are folder names under src/; a pure module must be added to PURE, any other is a service (see the doc).

/** Pure core: no I/O, so every server, CLI and worker can use it and tests need no disk or network. */
const PURE = 'engine|migrate|flags|bounded-cache|webhooks';
/** Node built-ins that do I/O or spawn work (crypto, module, util... are fine in pure code). */
const IO_BUILTINS =
  '^(fs|fs/promises|net|http|https|http2|tls|dgram|dns|child_process|worker_threads|cluster|readline|inspector)$';
/** Public entries: a module's index, and the OpenFeature provider (exported as gitcfg/openfeature). */
const PUBLIC_ENTRIES = ['^src/[^/]+/index\\.ts$', '^src/client/openfeature\\.ts$'];
const NPM = ['npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg', 'npm-unknown'];

/** Modules `from` (folders under src/, a regex alternation) import nothing of gitcfg but modules `allowed`. */
function importsOnly(name, comment, from, allowed) {
  return {
    name,
    severity: 'error',
    comment,
    from: { path: `^src/(${from})/` },
    to: { path: '^src/', pathNot: `^src/(${allowed})/` },
  };
}

/** Only modules `allowed` import `target` (a path regex: a module folder or a package in node_modules). */
function onlyImportedBy(name, comment, allowed, target) {
  return {
    name,
    severity: 'error',
    comment,
    from: { path: '^src/', pathNot: `^src/(${allowed})/` },
    to: { path: target },
  };
}

/** The path regex of an npm package, wherever node_modules is. */
const pkg = (name) => `(^|/)node_modules/${name}/`;

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
        pathNot: ['^src/$1/', ...PUBLIC_ENTRIES],
      },
    },
    importsOnly(
      'values-is-the-leaf',
      'src/values (JSON types, Issue, Origin, JSON pointers) is imported by every layer, so it imports none.',
      'values',
      'values',
    ),
    importsOnly(
      'errors-imports-only-values',
      'Every module throws gitcfg errors, so src/errors sits just above the leaf and imports only src/values.',
      'errors',
      'errors|values',
    ),
    importsOnly(
      'pure-core-imports-only-pure',
      'The pure core (engine, migrate, flags, bounded-cache, webhooks) reaches I/O only through ports passed in ' +
        '(RepoSource, ValidatorCodeStore...), never by importing an I/O module.',
      PURE,
      `values|errors|${PURE}`,
    ),
    {
      name: 'pure-core-does-no-io',
      severity: 'error',
      comment: 'The pure core touches no disk, network, process or thread: that is what makes it pure.',
      from: { path: `^src/(${PURE})/` },
      to: { dependencyTypes: ['core'], path: IO_BUILTINS },
    },
    onlyImportedBy(
      'only-cli-imports-commands',
      'src/commands is the composition root of each command; only the command-line wiring calls it.',
      'cli|commands',
      '^src/commands/',
    ),
    onlyImportedBy(
      'nothing-imports-cli',
      'src/cli is the entry point (the only place that calls process.exit): nothing may depend on it.',
      'cli',
      '^src/cli/',
    ),
    onlyImportedBy(
      'only-commands-imports-server',
      'Services never depend on HTTP: src/server is assembled by `gitcfg serve` and imports the services.',
      'commands|server',
      '^src/server/',
    ),
    importsOnly(
      'client-stays-small',
      'The client SDK (gitcfg/client) runs inside applications: it imports only its own files, the leaves and ' +
        'src/data-file, so installing it never loads the engine, git or the server.',
      'client',
      'client|values|errors|data-file',
    ),
    {
      name: 'client-imports-no-packages',
      severity: 'error',
      comment:
        'The SDK needs only node built-ins; the OpenFeature provider (gitcfg/openfeature) alone uses the ' +
        'OpenFeature SDKs it plugs into.',
      from: { path: '^src/client/', pathNot: '^src/client/openfeature\\.ts$' },
      to: { dependencyTypes: NPM },
    },
    {
      name: 'data-file-imports-only-built-ins',
      severity: 'error',
      comment: 'The client ships src/data-file: it must stay a leaf of node built-ins to keep the SDK small.',
      from: { path: '^src/data-file/' },
      to: { dependencyTypes: ['local', ...NPM] },
    },
    onlyImportedBy(
      'nothing-imports-the-client',
      'The SDK talks to the server over HTTP only; the server side never depends on it.',
      'client',
      '^src/client/',
    ),
    onlyImportedBy(
      'isomorphic-git-only-in-git',
      'One module owns isomorphic-git (its cache, errors and quirks are handled once, in src/git).',
      'git',
      pkg('isomorphic-git'),
    ),
    onlyImportedBy(
      'express-only-in-server',
      'One module owns HTTP routing: every route is a RouteSpec in src/server with a declared access.',
      'server',
      pkg('express'),
    ),
    onlyImportedBy(
      'ioredis-only-in-cluster',
      'One module owns Redis: the rest of the server sees the Fleet port, which has a local implementation.',
      'cluster',
      pkg('ioredis'),
    ),
    {
      name: 'tests-use-the-public-surface',
      severity: 'error',
      comment:
        "Tests import a module's index.ts. Narrow exceptions: a module's own tests (test/<module>/ -> " +
        'src/<module>/), which test its internal units against fakes; a command file of src/commands, because the ' +
        'index only loads commands lazily (load*) so that `validate` never loads the server.',
      from: { path: '^test/([^/]+)/' },
      to: { path: '^src/', pathNot: [...PUBLIC_ENTRIES, '^src/commands/[^/]+\\.ts$', '^src/$1/'] },
    },
    {
      name: 'benchmarks-use-the-public-surface',
      severity: 'error',
      comment: "Benchmarks import a module's index.ts (or a command file, as tests may).",
      from: { path: '^(bench/|test/[^/]+$)' },
      to: { path: '^src/', pathNot: [...PUBLIC_ENTRIES, '^src/commands/[^/]+\\.ts$'] },
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
