import { githubLike } from './github.js';

/** Gitea (and Gogs event names): a bare hex HMAC. */
export const gitea = githubLike('gitea', 'x-gitea-signature', '', 'x-gitea-delivery', [
  'x-gitea-event',
  'x-gogs-event',
]);
