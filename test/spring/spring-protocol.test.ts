import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../../src/errors/index.js';
import {
  buildEnvironment,
  flattenProperties,
  mergeDocuments,
  orderDocuments,
  parseSpringPath,
  renderFlatFile,
  renderProperties,
  splitFileStem,
} from '../../src/spring/index.js';
import type { ProfileDocument } from '../../src/spring/index.js';

describe('parseSpringPath', () => {
  it('splits on / before decoding, so %2C separates profiles and %2F stays in a label', () => {
    assert.deepEqual(parseSpringPath('/orders/dev%2Cmysql/feature%2Fx'), {
      kind: 'environment',
      application: 'orders',
      profiles: ['dev', 'mysql'],
      label: 'feature/x',
    });
  });

  it('reads (_) in a label as /', () => {
    assert.deepEqual(parseSpringPath('/orders/dev/feature(_)x(_)y'), {
      kind: 'environment',
      application: 'orders',
      profiles: ['dev'],
      label: 'feature/x/y',
    });
  });

  it('treats an empty profile segment (`/app/`) as the default profile', () => {
    assert.deepEqual(parseSpringPath('/orders/'), {
      kind: 'environment',
      application: 'orders',
      profiles: ['default'],
      label: undefined,
    });
  });

  it('recognises flat files with and without a label', () => {
    assert.deepEqual(parseSpringPath('/orders-dev.yml'), {
      kind: 'file',
      stem: 'orders-dev',
      format: 'yaml',
      label: undefined,
    });
    assert.deepEqual(parseSpringPath('/release(_)1/orders-dev%2Cmysql.properties'), {
      kind: 'file',
      stem: 'orders-dev,mysql',
      format: 'properties',
      label: 'release/1',
    });
    assert.equal(parseSpringPath('/orders-dev.txt'), null);
    assert.equal(parseSpringPath('/a/b/c/d'), null);
    assert.equal(parseSpringPath('/orders/dev/'), null);
  });

  it('refuses bad percent-encoding with a usage error naming the segment', () => {
    assert.throws(
      () => parseSpringPath('/orders/%E0%A4%A'),
      (err: unknown) => {
        assert.ok(err instanceof UsageError);
        assert.match(err.message, /segment 2/);
        return true;
      },
    );
  });
});

describe('splitFileStem', () => {
  it('prefers the longest split that names a namespace, else the last dash', () => {
    const namespaces = new Set(['orders', 'orders-eu']);
    const isNs = (n: string) => namespaces.has(n);
    assert.deepEqual(splitFileStem('orders-eu-prod', isNs), { application: 'orders-eu', profiles: ['prod'] });
    assert.deepEqual(splitFileStem('orders-eu-west-prod', isNs), {
      application: 'orders-eu',
      profiles: ['west-prod'],
    });
    assert.deepEqual(splitFileStem('other-app-dev', isNs), { application: 'other-app', profiles: ['dev'] });
    assert.equal(splitFileStem('nodash', isNs), null);
  });
});

describe('flattenProperties', () => {
  it("uses Spring's key syntax and keeps JSON types", () => {
    assert.deepEqual(
      flattenProperties({
        server: { port: 8080, tls: false },
        users: [
          { name: 'ann', roles: ['admin', 'dev'] },
          { name: 'bob', roles: [] },
        ],
        ratio: 0.5,
        empty: {},
        nothing: null,
        'dotted.key': { x: 1 },
      }),
      {
        'server.port': 8080,
        'server.tls': false,
        'users[0].name': 'ann',
        'users[0].roles[0]': 'admin',
        'users[0].roles[1]': 'dev',
        'users[1].name': 'bob',
        ratio: 0.5,
        nothing: null,
        '[dotted.key].x': 1,
      },
    );
  });
});

describe('mergeDocuments', () => {
  it('merges maps and replaces lists, later documents winning', () => {
    assert.deepEqual(
      mergeDocuments([
        { a: { b: 1, c: 2 }, list: [1, 2, 3] },
        { a: { c: 3 }, list: [9] },
      ]),
      { a: { b: 1, c: 3 }, list: [9] },
    );
  });
});

describe('Environment', () => {
  const doc = (namespace: string, environment: string): ProfileDocument => ({
    namespace,
    environment,
    commit: 'c0ffee',
    value: { who: `${namespace}/${environment}` },
  });

  it('puts the last profile first and the shared application namespace after the application', () => {
    const docs = [
      doc('application', 'dev'),
      doc('orders', 'dev'),
      doc('orders', 'mysql'),
      doc('application', 'mysql'),
    ];
    const env = buildEnvironment({
      application: 'orders',
      profiles: ['dev', 'mysql'],
      label: undefined,
      version: 'c0ffee',
      documents: orderDocuments('orders', ['dev', 'mysql'], docs),
    });
    assert.deepEqual(
      env.propertySources.map((s) => s.name),
      [
        'gitcfg:orders/mysql@c0ffee',
        'gitcfg:orders/dev@c0ffee',
        'gitcfg:application/mysql@c0ffee',
        'gitcfg:application/dev@c0ffee',
      ],
    );
    assert.deepEqual(env.propertySources[0]?.source, { who: 'orders/mysql' });
    assert.equal(env.label, null);
    assert.equal(env.name, 'orders');
  });

  it('lists the shared namespace once when it is the application, and a repeated profile once', () => {
    const docs = [doc('application', 'dev')];
    const ordered = orderDocuments('application', ['dev', 'dev'], docs);
    assert.equal(ordered.length, 1);
  });
});

describe('flat files', () => {
  it('escapes .properties keys and values as java.util.Properties reads them', () => {
    assert.equal(
      renderProperties({
        'a b': { 'k=v': ' lead', path: 'C:\\x', text: 'line1\nline2 #not comment', uml: 'é€' },
      }),
      'a\\ b.k\\=v=\\ lead\n' +
        'a\\ b.path=C:\\\\x\n' +
        'a\\ b.text=line1\\nline2 #not comment\n' +
        'a\\ b.uml=\\u00e9\\u20ac\n',
    );
    assert.equal(renderProperties({ n: 1, t: true, z: null, '#c': '!x' }), 'n=1\nt=true\nz=\n\\#c=\\!x\n');
  });

  it('renders YAML and JSON of the merged document', () => {
    const value = { a: { b: [1, 2] } };
    assert.deepEqual(JSON.parse(renderFlatFile(value, 'json').body.toString()), value);
    assert.equal(renderFlatFile(value, 'yaml').body.toString(), 'a:\n  b:\n    - 1\n    - 2\n');
  });
});
