import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redactCredentials, redactUrl, stripUrlCredentials } from '../../src/errors/index.js';

describe('redactCredentials', () => {
  it('masks the userinfo of every URL in a message, and only that', () => {
    assert.equal(
      redactCredentials('fetch https://bot:s3cret@git.example/a.git then http://u@h/b failed'),
      'fetch https://***@git.example/a.git then http://***@h/b failed',
    );
    assert.equal(redactCredentials('https://git.example/a.git'), 'https://git.example/a.git');
    assert.equal(redactCredentials('mail admin@example.com'), 'mail admin@example.com');
  });

  it('masks userinfo that has no scheme, an empty user, or spaces (a URL that does not parse)', () => {
    assert.equal(redactCredentials('//u:p@h/x'), '//***@h/x');
    assert.equal(redactCredentials('https://:tok@h/x'), 'https://***@h/x');
    assert.equal(redactCredentials('http://u:p w@exa mple.com/'), 'http://***@exa mple.com/');
  });

  it('does not reach across a path or a line', () => {
    assert.equal(redactCredentials('http://h/p x@y'), 'http://h/p x@y');
    assert.equal(redactCredentials('see http://h\nuser@y'), 'see http://h\nuser@y');
  });

  it('masks every occurrence of the known secrets of 3 characters or more', () => {
    assert.equal(
      redactCredentials('auth tok123 refused (tok123), pw', ['tok123', 'pw', undefined]),
      'auth *** refused (***), pw',
    );
  });

  it('backs redactUrl and stripUrlCredentials when the URL does not parse', () => {
    assert.equal(redactUrl('https://bot:s3cret@git.example/a.git'), 'https://***:***@git.example/a.git');
    assert.equal(redactUrl('http://u:p w@exa mple.com/'), 'http://***@exa mple.com/');
    assert.equal(stripUrlCredentials('http://u:p w@exa mple.com/'), 'http://exa mple.com/');
  });
});
