/**
 * The naive baseline of the read benchmark: a config server without snapshots, in the style of Spring Cloud
 * Config. Every `GET /v1/config/:namespace/:env` reads the pair's files from git (`git show HEAD:<path>`, one
 * process per file), parses them and merges them with the same engine, then answers JSON. Run as a child:
 *
 *   node --import tsx bench/lib/naive-config-server.ts --repo <work tree>   (prints {"url": ...} on stdout)
 */
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { evaluateRepo, memorySource } from '../../src/engine/index.js';

/** `git show HEAD:<path>`; null when the file does not exist at HEAD. */
function show(repo: string, path: string): Promise<Buffer | null> {
  return new Promise((resolve) => {
    execFile(
      'git',
      ['show', `HEAD:${path}`],
      { cwd: repo, encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 },
      (err, stdout) => resolve(err ? null : stdout),
    );
  });
}

/** Reads the files of one pair from git and merges them; null when the pair does not exist. */
export async function naiveConfig(repo: string, namespace: string, env: string): Promise<Buffer | null> {
  const manifestBytes = await show(repo, 'gitcfg.yaml');
  if (!manifestBytes) return null;
  const manifest = parseYaml(manifestBytes.toString('utf8')) as {
    environments?: Record<string, { extends?: string } | null>;
  };
  const chain: string[] = [];
  for (let e: string | undefined = env; e && !chain.includes(e); e = manifest.environments?.[e]?.extends)
    chain.unshift(e);
  const paths = [
    `schemas/${namespace}.schema.json`,
    `defaults/${namespace}.yaml`,
    ...chain.map((e) => `environments/${e}/${namespace}.yaml`),
  ];
  const files: Record<string, Uint8Array> = { 'gitcfg.yaml': manifestBytes };
  const contents = await Promise.all(paths.map((p) => show(repo, p)));
  paths.forEach((p, i) => {
    const bytes = contents[i];
    if (bytes) files[p] = bytes;
  });
  const evaluation = await evaluateRepo(memorySource(files));
  const config = evaluation.configs.get(`${namespace}/${env}`);
  return config ? Buffer.from(JSON.stringify(config.value), 'utf8') : null;
}

/** Starts the naive server on 127.0.0.1:0; resolves to its base URL and a close function. */
export async function startNaiveServer(repo: string): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const match = /^\/v1\/config\/([a-z0-9-]+)\/([a-z0-9-]+)$/.exec(req.url ?? '');
    if (!match) {
      res.writeHead(404).end();
      return;
    }
    naiveConfig(repo, match[1]!, match[2]!).then(
      (body) => {
        if (!body) res.writeHead(404).end();
        else res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8' }).end(body);
      },
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { repo: { type: 'string' } } });
  if (!values.repo) throw new Error('--repo is required');
  const { url, close } = await startNaiveServer(values.repo);
  process.stdout.write(`${JSON.stringify({ url })}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => void close());
}
