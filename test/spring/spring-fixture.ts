/** A config repository shaped like a Spring team's, served by a real server from a real smart-HTTP remote. */
import * as path from 'node:path';
import type { ServeOptions } from '../../src/commands/serve.js';
import { startServer, tokenEntry } from '../edits/writes-fixture.js';
import type { TestServer } from '../edits/writes-fixture.js';

/** The value the server resolves `${env:DB_PASSWORD}` to (set by `startServer`). */
export { DB_PASSWORD } from '../edits/writes-fixture.js';

const ORDERS_SCHEMA = {
  type: 'object',
  properties: {
    server: { type: 'object', properties: { port: { type: 'integer' }, tls: { type: 'boolean' } } },
    db: {
      type: 'object',
      properties: { host: { type: 'string' }, password: { type: 'string', 'x-gitcfg-secret': true } },
    },
    users: {
      type: 'array',
      items: {
        type: 'object',
        properties: { name: { type: 'string' }, roles: { type: 'array', items: { type: 'string' } } },
      },
    },
  },
};

/** `orders` (nested maps, lists of objects, a secret) and Spring's shared `application` namespace. */
export const SPRING_FILES: Record<string, string> = {
  'gitcfg.yaml': 'version: 1\nenvironments:\n  dev: {}\n  mysql: {}\n  production: {}\n',
  'schemas/orders.schema.json': JSON.stringify(ORDERS_SCHEMA),
  'defaults/orders.yaml': [
    'server:',
    '  port: 8080',
    '  tls: false',
    'ratio: 0.5',
    'db:',
    '  host: db.internal',
    '  password: ${env:DB_PASSWORD}',
    'users:',
    '  - name: ann',
    '    roles: [admin, dev]',
    '  - name: bob',
    '    roles: [ops, on-call]',
    '',
  ].join('\n'),
  'environments/dev/orders.yaml': 'server:\n  port: 8081\nfeatures: [fast-checkout]\n',
  'environments/mysql/orders.yaml': 'db:\n  host: mysql.internal\n',
  'environments/production/orders.yaml': 'server:\n  tls: true\n',
  'schemas/application.schema.json': JSON.stringify({ type: 'object' }),
  'defaults/application.yaml': 'shared:\n  region: eu\n  timeouts: [1, 2]\n',
  'environments/dev/application.yaml': 'shared:\n  region: eu-dev\n',
};

export const WEBHOOK_SECRET = 'spring-webhook-secret';

export const SPRING_TOKENS = {
  reader: 'gcfg-spring-reader-8d7c6b5a4f3e',
  secretReader: 'gcfg-spring-secrets-1a9b8c7d6e5f',
  paymentsOnly: 'gcfg-spring-payments-4e5f6a7b8c9d',
} as const;

function tokensYaml(): string {
  const entry = tokenEntry;
  return (
    'version: 1\ntokens:\n' +
    entry('reader', SPRING_TOKENS.reader, ['read:*/*']) +
    entry('secretreader', SPRING_TOKENS.secretReader, ['read-secrets:*/*']) +
    entry('payments', SPRING_TOKENS.paymentsOnly, ['read:payments/*'])
  );
}

/** Starts `gitcfg serve` on port 0 for `repo` (with the tokens above when `tokens`). */
export async function startSpringServer(opts: {
  repo: string;
  dir: string;
  tokens?: boolean;
  extra?: Pick<ServeOptions, 'spring' | 'springPrefix'>;
}): Promise<TestServer> {
  return startServer({
    repo: opts.repo,
    dir: opts.dir,
    dataDir: path.join(opts.dir, 'data'),
    tokens: opts.tokens === true,
    tokensFile: tokensYaml(),
    env: { GITCFG_WEBHOOK_SECRET_GITHUB: WEBHOOK_SECRET },
    ...(opts.extra ? { spring: opts.extra } : {}),
  });
}
