/**
 * What a data dir serves: the repository (remote URL without credentials, or local path), branch and config root
 * recorded in `<dataDir>/identity.json`. Its mirror, snapshot, history index and pins only make sense for that
 * identity, so a server started on another one is stopped before it reads any of them.
 */
import { readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DataDirMismatchError } from '../errors/index.js';
import { writeFileAtomic } from '../data-file/index.js';

/** What one data dir belongs to. */
export interface DataDirIdentity {
  /** Remote URL without credentials, or the absolute path of a local repository. */
  repository: string;
  branch: string;
  /** Config root inside the repository (`''` for the root). */
  subdir: string;
}

/** Outcome of `claimDataDir`: how the data dir came to be recorded for `identity`. */
export type DataDirClaim = 'matched' | 'recorded' | 'adopted' | 'reset';

const IDENTITY_FILE = 'identity.json';
const FORMAT = 1;
/** Everything the server keeps in a data dir for one identity (and the leftovers of interrupted writes). */
const OWNED = ['mirror', 'snapshot.json', 'history-index.json', 'pins.json'];

/** `url (branch main, config root cfg/)`: how an identity is shown in messages. */
export function describeIdentity(identity: DataDirIdentity): string {
  const root = identity.subdir ? `config root ${identity.subdir}/` : 'config at the root';
  return `${identity.repository} (branch ${identity.branch}, ${root})`;
}

/**
 * Checks that `dataDir` belongs to `identity` and records it when the data dir is new. A data dir of another
 * identity (or with an unreadable record) throws DataDirMismatchError naming both, unless `reset` is set: then what
 * it holds is deleted and the new identity recorded. A data dir written before identities were recorded is adopted.
 */
export async function claimDataDir(
  dataDir: string,
  identity: DataDirIdentity,
  opts: { reset?: boolean } = {},
): Promise<DataDirClaim> {
  const file = join(dataDir, IDENTITY_FILE);
  const recorded = await readIdentity(file);
  if (recorded.status === 'loaded' && sameIdentity(recorded.identity, identity)) return 'matched';
  if (recorded.status === 'missing') {
    const held = await ownedEntries(dataDir);
    await writeIdentity(file, identity);
    return held.length > 0 ? 'adopted' : 'recorded';
  }
  const was = recorded.status === 'loaded' ? describeIdentity(recorded.identity) : recorded.reason;
  if (!opts.reset) {
    throw new DataDirMismatchError(
      `data dir ${dataDir} belongs to ${was}, not to ${describeIdentity(identity)}: ` +
        'give this server its own --data-dir, or start it once with --reset-data-dir to delete the mirror, ' +
        'snapshot, history index and pins kept there',
      { dataDir, recorded: recorded.status === 'loaded' ? recorded.identity : null, requested: identity },
    );
  }
  for (const name of await ownedEntries(dataDir)) {
    await rm(join(dataDir, name), { recursive: true, force: true });
  }
  await writeIdentity(file, identity);
  return 'reset';
}

type IdentityRead =
  | { status: 'loaded'; identity: DataDirIdentity }
  | { status: 'missing' }
  | { status: 'unreadable'; reason: string };

async function readIdentity(file: string): Promise<IdentityRead> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { status: 'missing' };
    return { status: 'unreadable', reason: `an unreadable ${file}` };
  }
  try {
    const data = JSON.parse(text) as Record<string, unknown>;
    const { format, repository, branch, subdir } = data;
    if (
      format === FORMAT &&
      typeof repository === 'string' &&
      typeof branch === 'string' &&
      typeof subdir === 'string'
    ) {
      return { status: 'loaded', identity: { repository, branch, subdir } };
    }
  } catch {
    // reported below
  }
  return { status: 'unreadable', reason: `an unknown identity (${file} is damaged)` };
}

function writeIdentity(file: string, identity: DataDirIdentity): Promise<void> {
  const body = { format: FORMAT, ...identity };
  return writeFileAtomic(file, Buffer.from(`${JSON.stringify(body, null, 2)}\n`, 'utf8'), 0o644);
}

function sameIdentity(a: DataDirIdentity, b: DataDirIdentity): boolean {
  return a.repository === b.repository && a.branch === b.branch && a.subdir === b.subdir;
}

/** Entries of the data dir the server owns, including temp siblings of the mirror and of atomic writes. */
async function ownedEntries(dataDir: string): Promise<string[]> {
  const names = await readdir(dataDir).catch(() => [] as string[]);
  return names.filter(
    (n) =>
      OWNED.includes(n) ||
      n.startsWith('mirror.tmp-') ||
      n.startsWith('mirror.old-') ||
      OWNED.some((o) => n.startsWith(`.${o}.`) && n.endsWith('.tmp')),
  );
}
