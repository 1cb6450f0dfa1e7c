/**
 * A fleet for tests: a real `redis-server` on a free port in a temp dir, and real `gitcfg serve` processes
 * (bin/gitcfg.js) that can be killed with SIGKILL. Nothing relies on a system service.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import * as net from 'node:net';
import * as path from 'node:path';
import { startServeProcess } from '../faults/serve-process.js';
import type { ServeProcess, ServeProcessOptions } from '../faults/serve-process.js';
import { tempDir } from '../helpers/git-repo.js';
import { tokensYaml } from '../edits/writes-fixture.js';
import { waitFor } from '../server/server-fixture.js';

/** A free TCP port on 127.0.0.1 (listen on 0, read it, close). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Sends one inline command to Redis and reads the first reply line (no client library in tests). */
export function redisCommand(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let reply = '';
    socket.setTimeout(2000, () => socket.destroy(new Error('redis did not answer')));
    socket.on('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (chunk) => {
      reply += chunk.toString('utf8');
      if (reply.includes('\r\n')) {
        socket.end();
        resolve(reply);
      }
    });
    socket.on('error', reject);
  });
}

/** A redis-server process (no persistence) that can be killed and started again on the same port. */
export class TestRedis {
  private child: ChildProcess | null = null;
  private constructor(
    readonly port: number,
    private readonly dir: string,
  ) {}

  static async start(): Promise<TestRedis> {
    const redis = new TestRedis(await freePort(), await tempDir('gitcfg-redis-'));
    await redis.restart();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}/0`;
  }

  async restart(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    this.child = spawn('redis-server', [...args, '--dir', this.dir], { stdio: 'ignore' });
    await waitFor('redis-server', async () => (await redisCommand(this.port, 'PING')).startsWith('+PONG'));
  }

  /** SIGKILL: the data (pins, delivery ids) is lost, as with a crash of a Redis without persistence. */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}

/** One `gitcfg serve` process, started through bin/gitcfg.js (so SIGKILL is a real crash). */
export class Replica {
  private process: ServeProcess | null = null;
  url = '';

  constructor(
    readonly id: string,
    private readonly options: Omit<ServeProcessOptions, 'dataDir'>,
    readonly dataDir: string,
  ) {}

  async start(): Promise<void> {
    this.process = await startServeProcess({
      ...this.options,
      dataDir: this.dataDir,
      args: [...(this.options.args ?? []), '--replica-id', this.id],
    });
    this.url = this.process.url;
  }

  /** SIGKILL (no drain). */
  async kill(): Promise<void> {
    await this.process?.kill('SIGKILL');
    this.process = null;
  }

  /** SIGTERM and wait for the drain. */
  async stop(): Promise<void> {
    await this.process?.kill('SIGTERM');
    this.process = null;
  }
}

/**
 * Starts `count` replicas of `repoUrl` sharing `redisUrl` (polling off, fast fallback polling and heartbeats);
 * without `redisUrl`, independent servers as before replicas existed.
 */
export async function startFleet(opts: {
  repoUrl: string;
  redisUrl?: string;
  webhookSecret: string;
  count: number;
}): Promise<Replica[]> {
  const dir = await tempDir('gitcfg-fleet-');
  const tokens = path.join(dir, 'tokens.yaml');
  await writeFile(tokens, tokensYaml());
  const env = {
    GITCFG_TOKENS_FILE: tokens,
    GITCFG_WEBHOOK_SECRET: opts.webhookSecret,
    GITCFG_REDIS_HEARTBEAT_MS: '300',
    DB_PASSWORD: 'unused',
    GITCFG_SECRET_ENV: '*/*:DB_*',
  };
  const args = [
    '--log-level',
    'warn',
    ...(opts.redisUrl ? ['--redis', opts.redisUrl] : []),
    '--redis-fallback-poll',
    '*/1 * * * * *',
    '--min-commit-wait-ms',
    '1500',
    '--validation-workers',
    '1',
  ];
  const replicas = Array.from(
    { length: opts.count },
    (_, i) =>
      new Replica(`r${i + 1}`, { repo: opts.repoUrl, cwd: dir, env, args }, path.join(dir, `data-${i + 1}`)),
  );
  await Promise.all(replicas.map((r) => r.start()));
  return replicas;
}
