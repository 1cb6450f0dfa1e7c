/** `gitcfg serve`: the sync server (mirror or local repository -> validated snapshots -> HTTP API). */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { claimDataDir, describeIdentity } from '../data-dir/index.js';
import { EngineCache } from '../engine/index.js';
import { EvaluationPool } from '../evaluation-pool/index.js';
import { validatorCacheIn } from './validate.js';
import {
  NotFoundError,
  UsageError,
  redactCredentials,
  redactUrl,
  stripUrlCredentials,
} from '../errors/index.js';
import { diffCommitsInChildProcess, openLocalRepository, openMirror } from '../git/index.js';
import type { LocalRepository } from '../git/index.js';
import { HistoryIndex, HistoryIndexFile, HistoryService } from '../history/index.js';
import { createLogger } from '../log/index.js';
import type { Logger } from '../log/index.js';
import { createMetrics, enableFleetMetrics } from '../metrics/index.js';
import { LocalFleet, RedisFleet, parseRedisEndpoint } from '../cluster/index.js';
import type { Fleet } from '../cluster/index.js';
import { buildApp, listen, loadConsoleAssets } from '../server/index.js';
import { SnapshotFile, SnapshotStore } from '../snapshot/index.js';
import { RejectedCommitsFile, SyncService } from '../sync/index.js';
import type { SyncOrigin } from '../sync/index.js';
import { WebhookReceiver, signalSettingsFromEnv, webhookSecretsFromEnv } from '../webhooks/index.js';
import { AccessControl, loadTokensFile, secretResolverFromEnv } from '../auth/index.js';
import { RolloutService } from '../rollouts/index.js';
import { EditService, PinStore, WriteLock, localWriteTarget, mirrorWriteTarget } from '../edits/index.js';
import type { WriteTarget } from '../edits/index.js';
import { serveSettings } from './serve-settings.js';
import type { ServeOptions, ServeSettings } from './serve-settings.js';

export type { ServeOptions } from './serve-settings.js';

/** A running server. */
export interface ServeHandle {
  /** Base URL, e.g. `http://127.0.0.1:8080`. */
  url: string;
  /** Drains (stop accepting, end SSE and long-polls, finish the running sync) and closes. Idempotent. */
  close(): Promise<void>;
  /** Resolves once closed (by `close()` or by a signal when `handleSignals` is set). */
  closed: Promise<void>;
}

/**
 * Starts the sync server and resolves once it listens; the first sync runs in the background (`/readyz` turns
 * 200 once a snapshot is served, at once when one is persisted in the data dir). Never calls `process.exit`:
 * with `handleSignals`, the CLI awaits `closed` and then exits. Throws UsageError for bad options.
 */
export async function serveCommand(opts: ServeOptions): Promise<ServeHandle> {
  const settings = serveSettings(opts);
  const { env } = opts;
  const { branch, dataDir, poll, fallbackPoll, redisUrl, replicaId } = settings;
  const print = opts.print ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const logger = createLogger({
    level: settings.logLevel,
    ...(opts.logDestination ? { destination: opts.logDestination } : {}),
  });
  // Checked before anything starts: a bad tokens file or pins file stops the server with a clear error.
  const access = settings.tokensFile
    ? AccessControl.withTokens(loadTokensFile(settings.tokensFile, (p) => readFileSync(p, 'utf8')))
    : AccessControl.open();
  const secretResolver = secretResolverFromEnv(env, (p) => readFileSync(resolve(opts.cwd, p), 'utf8'));
  // Without any scopes configured nothing resolves, and references stay what they are (pointers for another
  // resolver): only an operator's list makes a reference outside it a validation issue.
  const secretScopes = secretResolver.configured ? secretResolver.scopes : undefined;
  // A local repository is opened first: its root and the config root inside it name the data dir's identity.
  const local = settings.isUrl ? null : await openLocal(settings.repo, branch);
  // For a local path inside a repository, that path is the config root unless --subdir says otherwise.
  const subdir = settings.explicitSubdir ?? (local ? local.location.prefix.replace(/\/$/, '') : '');
  const identity = {
    repository: local
      ? (local.location.workTree ?? local.location.commonDir)
      : stripUrlCredentials(settings.repo),
    branch,
    subdir,
  };
  // Before anything is read from the data dir: its mirror, snapshot, history and pins may be another repository's.
  const claim = await claimDataDir(dataDir, identity, { reset: settings.resetDataDir });
  if (claim === 'adopted' || claim === 'reset') {
    logger.warn({ dataDir, identity }, `data dir ${claim} for ${describeIdentity(identity)}`);
  }
  // The repository is open before any service is built: pins and `?ref=` reads never wait for a sync.
  const origin = local
    ? localOrigin(local, settings.repo)
    : await mirrorOrigin(settings, join(dataDir, 'mirror'), logger, new WriteLock());
  const metrics = createMetrics();
  const fleet: Fleet = redisUrl
    ? new RedisFleet({
        endpoint: parseRedisEndpoint(redisUrl, env, (p) => readFileSync(resolve(opts.cwd, p), 'utf8')),
        replicaId,
        identity,
        logger,
        metrics,
        ...(settings.heartbeatMs !== undefined ? { heartbeatMs: settings.heartbeatMs } : {}),
      })
    : new LocalFleet(replicaId);
  if (redisUrl) enableFleetMetrics(metrics);
  const pins = new PinStore(dataDir, redisUrl ? fleet : undefined);
  await pins.load();
  const secrets = webhookSecretsFromEnv(env, (path) => readFileSync(resolve(opts.cwd, path), 'utf8'));

  const store = new SnapshotStore();
  const cache = new EngineCache();
  const rejections = new RejectedCommitsFile(dataDir, {
    // A verdict also depends on these settings: one made under other scopes or bounds is not reused.
    settings: JSON.stringify([secretScopes?.entries ?? null, ...settings.verdictSettings]),
  });
  await rejections.load();
  // Commits, ?ref= reads, history and edits are untrusted content: validated in bounded worker threads.
  const pool = new EvaluationPool({
    size: settings.validation.workers,
    timeoutMs: settings.validation.timeoutMs,
    maxHeapMb: settings.validation.heapMb,
    validatorCache: validatorCacheIn(join(dataDir, 'validators')),
    onCacheCounts: (channel, counts) => {
      const cache = `evaluation-${channel}`;
      metrics.cacheEvents.inc({ cache, event: 'hit' }, counts.hits);
      metrics.cacheEvents.inc({ cache, event: 'miss' }, counts.misses);
      metrics.cacheEvents.inc({ cache, event: 'eviction' }, counts.evictions);
    },
  });
  // Audit trail: the history index lives next to the snapshot in the data dir and follows every fetch.
  const history = new HistoryService({
    index: new HistoryIndex({
      branch,
      store: new HistoryIndexFile(dataDir),
      onSaveError: (error) => logger.warn({ error: String(error) }, 'history index not saved'),
      // A first build diffs the whole history in a child process whose memory goes back to the system.
      bulkDiff: (repository, commits, options) => {
        logger.info({ commits: commits.length }, 'history index: diffing the history in a child process');
        return diffCommitsInChildProcess(repository, commits, options);
      },
      onBulkDiffError: (error, progress) =>
        logger.warn(
          { error: redactCredentials(String(error)), ...progress },
          'history index: the diff process failed; diffing the rest in process',
        ),
    }),
    repository: async () => origin.repository,
    subdir,
    evaluate: pool.evaluator('history'),
    onCacheEvent: (cache, event) => metrics.cacheEvents.inc({ cache, event }),
  });
  const sync = new SyncService({
    origin,
    branch,
    subdir,
    store,
    file: new SnapshotFile(dataDir),
    cache,
    // A cold build parses the whole tree; later syncs evaluate only what a commit reaches, so the workers of a
    // cold build are retired rather than left idling on its heap. Reads of other commits (`?ref=`, pins) do not
    // retire them: a caller could otherwise make the server restart workers at will.
    evaluate: pool.evaluator('sync', { retireAfterParses: 256 }),
    evaluateAt: pool.evaluator('sync'),
    rejections,
    // The index follows every fetch; its first build is diffed in a child process (see the history index above).
    history,
    logger,
    metrics,
    ...(secretScopes ? { secretScopes } : {}),
    fleet,
  });
  const edits = new EditService({
    target: origin.writeTarget,
    subdir,
    committer: settings.committer,
    cache,
    evaluate: pool.evaluator('edits'),
    ...(secretScopes ? { secretScopes } : {}),
    // The response of an edit carries the commit served once the sync has picked it up.
    onCommitted: async () => {
      await sync.trigger('edit');
      return store.current?.commit ?? null;
    },
  });
  const webhooks = new WebhookReceiver({ secrets, branch });
  // Follows promotions from the first one (the snapshot restored from the data dir) on.
  const rollouts = new RolloutService({
    store,
    snapshotAt: (commit) => sync.snapshotAt(commit),
    file: join(dataDir, 'rollouts.json'),
    logger,
    // Every replica gives one client the same answer: one clock and the same controls for the same rollout.
    replication: fleet,
    revert: async (state, author, reason) => {
      const result = await edits.revert({
        commit: state.candidate,
        since: state.stable,
        author,
        message:
          `Abort the rollout of ${state.env}: back to ${state.stable.slice(0, 12)}\n\n` +
          `This reverts commits ${state.stable}..${state.candidate}.\nReason: ${reason}`,
      });
      return result.commit;
    },
  });
  await rollouts.start();
  await sync.restore();
  const uiOn = settings.ui.on;
  const consoleAssets = uiOn ? loadConsoleAssets(settings.ui.dir) : null;
  const serverApp = buildApp({
    console: {
      assets: consoleAssets,
      offReason: uiOn ? 'the console was not built (npm run build)' : 'the console is off (--no-ui)',
    },
    store,
    sync,
    webhooks,
    metrics,
    logger,
    history,
    fastPath: settings.fastPath,
    limits: settings.limits,
    springPrefix: settings.springPrefix,
    writes: { access, edits, pins, secrets: secretResolver },
    ...(redisUrl ? { fleet } : {}),
    fleetMaxLagSeconds: settings.fleetMaxLagSeconds,
    minCommitWaitMs: settings.minCommitWaitMs,
    rollouts,
    signals: signalSettingsFromEnv(env, (path) => readFileSync(resolve(opts.cwd, path), 'utf8')),
  });
  const running = await listen(serverApp, { port: settings.port, host: settings.host });
  const jitterMs = settings.pollJitterMs;
  if (poll !== 'off') sync.startPolling(poll, jitterMs);
  // Not held up by a Redis that takes its connect timeout to fail.
  void sync.trigger('startup');
  let wasAway = false;
  await fleet.start(
    {
      state: () => {
        const status = sync.status();
        return {
          served: store.current?.commit ?? null,
          rejected: status.rejected?.commit ?? null,
          branchHead: status.branchHead,
          fetchedAt: status.lastFetch?.ok ? Date.parse(status.lastFetch.at) : null,
        };
      },
      localPins: () => pins.list(),
    },
    {
      onCommit: (commit) => {
        if (commit === null) {
          void sync.trigger('fleet');
          return;
        }
        // Usually the hint of the webhook already started a fetch that sees this commit: check after it.
        const covered = () => store.current?.commit === commit || sync.status().branchHead === commit;
        void sync.settled().then(() => {
          if (!covered()) void sync.trigger('fleet');
        });
      },
      onRollout: (env, state) => rollouts.adopt(env, state),
      onPins: (shared) => {
        pins.replace(shared).then(
          (changed) => {
            if (changed.length > 0) logger.info({ envs: changed }, 'pins changed in the fleet');
          },
          (error: unknown) => logger.error({ error: String(error) }, 'could not save the fleet pins locally'),
        );
      },
      onConnection: (connected) => {
        // Redis away: announcements cannot arrive, so poll (fast) until it returns; then back to the schedule
        // and one fetch for what was announced while this replica was away.
        if (!connected) sync.startPolling(fallbackPoll, Math.min(jitterMs, 1000));
        else if (poll !== 'off') sync.startPolling(poll, jitterMs);
        else void sync.stopPolling();
        if (connected && wasAway) void sync.trigger('fleet-rejoin');
        wasAway = !connected;
      },
    },
  );

  const enabled = Object.keys(secrets);
  logger.info(
    {
      url: running.url,
      repository: origin.description,
      branch,
      subdir,
      dataDir,
      poll,
      webhooks: enabled,
      ...(redisUrl ? { replica: replicaId, fleet: fleet.status().redis } : {}),
    },
    'gitcfg server listening',
  );
  logger.info(
    { tokens: access.size, pins: pins.list().map((p) => p.env) },
    access.enabled
      ? 'access control on: every API request needs a bearer token'
      : 'no tokens file (GITCFG_TOKENS_FILE): reads are open, writes are refused',
  );
  print(`gitcfg serving ${origin.description} (branch ${branch}${subdir ? `, config in ${subdir}/` : ''})`);
  if (consoleAssets) print(`  console:  ${running.url}/ui/`);
  else if (uiOn) print('  console:  not built (npm run build), /ui/ is off');
  print(`  status:   ${running.url}/v1/status`);
  print(`  config:   ${running.url}/v1/config/<namespace>/<environment>`);
  print(`  metrics:  ${running.url}/metrics`);
  print(
    `  webhooks: ${enabled.length ? enabled.map((p) => `${running.url}/v1/webhooks/${p}`).join(' ') : 'none (set GITCFG_WEBHOOK_SECRET)'}`,
  );

  // Name a real URL as soon as a snapshot is served (at once when one was persisted).
  const example = (): boolean => {
    const first = store.current?.configs.values().next().value;
    if (first) print(`  example:  ${running.url}/v1/config/${first.namespace}/${first.environment}`);
    return first !== undefined;
  };
  if (!example()) {
    const stop = store.subscribe(() => {
      stop();
      example();
    });
  }

  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  let closing: Promise<void> | null = null;
  const onSignal = (signal: NodeJS.Signals): void => {
    logger.info({ signal }, 'draining');
    void close();
  };
  function close(): Promise<void> {
    closing ??= (async () => {
      if (opts.handleSignals) {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
      }
      await running.close();
      rollouts.close();
      await fleet.close();
      await sync.close();
      await pool.close();
      logger.info('gitcfg server stopped');
      logger.flush();
      resolveClosed();
    })();
    return closing;
  }
  if (opts.handleSignals) {
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  }
  return { url: running.url, close, closed };
}

/** Where commits come from, plus where edits go. */
interface ServeOrigin extends SyncOrigin {
  writeTarget: WriteTarget;
}

/** Opens the local repository of `--repo`; a path outside any repository stops the start. */
async function openLocal(path: string, branch: string): Promise<LocalRepository> {
  try {
    return await openLocalRepository(path, { branch });
  } catch (error) {
    if (error instanceof NotFoundError) throw new UsageError(`not a git repository: ${path}`, { repo: path });
    throw error;
  }
}

/**
 * The bare mirror in the data dir, opened from disk (no network: a missing or damaged mirror is cloned by the
 * first sync), fetched on every sync, re-mirrored when packs pile up.
 */
async function mirrorOrigin(
  settings: ServeSettings,
  dir: string,
  logger: Logger,
  lock: WriteLock,
): Promise<ServeOrigin> {
  const mirror = await openMirror({
    url: settings.repo,
    dataDir: dir,
    branch: settings.branch,
    ...(settings.auth ? { auth: settings.auth } : {}),
    // Every branch and tag, so `?ref=` and Spring labels can name them (each fetch then moves more refs).
    ...(settings.mirrorAllRefs ? { tags: true } : {}),
    onEvent: (event) => logger.info({ mirror: event }, `mirror ${event.type}`),
    deferClone: true,
  });
  return {
    description: redactUrl(settings.repo),
    remote: true,
    repository: mirror,
    readable: () => !mirror.awaitingClone,
    // Fetches share the edits' lock: a fetch moves the local branch, never between an edit's commit and push.
    writeTarget: mirrorWriteTarget(async () => mirror, lock, settings.branch),
    update: () =>
      lock.run(async () => {
        const outcome = await mirror.fetch();
        if (outcome.packs > 50) await mirror.remirror(`${outcome.packs} packs`);
        return mirror.head;
      }),
  };
}

/** A repository on local disk: every sync re-reads the branch. */
function localOrigin(repository: LocalRepository, path: string): ServeOrigin {
  return {
    description: path,
    remote: false,
    repository,
    writeTarget: localWriteTarget(async () => repository),
    async update(): Promise<string | null> {
      return (await repository.refresh()).head;
    },
  };
}
