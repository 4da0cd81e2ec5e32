// Owns access to a real PostgreSQL for tests: the configured server if it answers,
// otherwise a throwaway server started from Debian's binaries (once per test
// process). Each caller gets its own schema, so tests never see each other's rows.
// It never skips: no usable PostgreSQL is an error that names what is missing.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, chown, mkdtemp, open, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from '../../lib/free-port.ts';

export interface TestPostgres {
  /** Server URL; pass it with `schema` to openDatabase. */
  url: string;
  /** Fresh schema `t_<random>`, already created. */
  schema: string;
  /** DROP SCHEMA ... CASCADE. */
  drop(): Promise<void>;
}

const DEFAULT_URL = 'postgres://postgres@127.0.0.1:5432/test';
const DEBIAN_POSTGRES_ROOT = '/usr/lib/postgresql';
const STARTUP_TIMEOUT_MS = 30_000;
const run = promisify(execFile);

let serverUrl: Promise<string> | undefined;

export async function acquireTestPostgres(): Promise<TestPostgres> {
  serverUrl ??= resolveServerUrl();
  const url = await serverUrl;
  const schema = `t_${randomBytes(6).toString('hex')}`;
  await runAdmin(url, `create schema if not exists "${schema}"`);
  return { url, schema, drop: () => runAdmin(url, `drop schema if exists "${schema}" cascade`) };
}

async function resolveServerUrl(): Promise<string> {
  const configured = process.env.PARLEY_TEST_DATABASE_URL ?? DEFAULT_URL;
  const unreachable = await connectError(configured);
  if (unreachable === undefined) return configured;
  try {
    return await startThrowawayServer();
  } catch (startError) {
    throw new Error(
      `no PostgreSQL for tests: ${redact(configured)} is unreachable (${unreachable.message}) ` +
        `and a throwaway server could not be started (${(startError as Error).message}). ` +
        'Set PARLEY_TEST_DATABASE_URL or install the postgresql server package.',
      { cause: startError },
    );
  }
}

async function runAdmin(url: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

async function connectError(url: string): Promise<Error | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    await client.end();
    return undefined;
  } catch (error) {
    return error as Error;
  }
}

async function startThrowawayServer(): Promise<string> {
  const bin = await findPostgresBin();
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? await systemUser('postgres') : undefined;
  // PostgreSQL refuses to run as root, so as root both binaries run as `postgres`.
  const command = (file: string, args: string[]): [string, string[]] =>
    owner ? ['runuser', ['-u', 'postgres', '--', file, ...args]] : [file, args];

  const root = await mkdtemp(join(tmpdir(), 'parley-pg-'));
  if (owner) await chown(root, owner.uid, owner.gid);
  const dataDir = join(root, 'data');
  removeWhenProcessEnds(root, dataDir);
  // cwd = our temp dir: the postgres user may not be allowed into the caller's cwd.
  const [initdb, initdbArgs] = command(join(bin, 'initdb'), ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync']);
  await run(initdb, initdbArgs, { cwd: root });

  const port = await freePort();
  const log = await open(join(root, 'server.log'), 'a');
  // Durability settings off: this data dies with the test process anyway.
  const settings = ['listen_addresses=127.0.0.1', 'unix_socket_directories=', 'fsync=off', 'synchronous_commit=off', 'full_page_writes=off'];
  const [file, args] = command(join(bin, 'postgres'), ['-D', dataDir, '-p', String(port), ...settings.flatMap((s) => ['-c', s])]);
  // Detached + log file (no pipes) + unref: the server must not keep this process alive.
  const server = spawn(file, args, { cwd: root, detached: true, stdio: ['ignore', log.fd, log.fd] });
  server.unref();
  await log.close();
  let failure: string | undefined;
  server.once('error', (error) => {
    failure = `could not be spawned: ${error.message}`;
  });
  server.once('exit', (code, signal) => {
    failure = `exited with ${signal ?? code}`;
  });

  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while ((await connectError(url)) !== undefined) {
    if (failure !== undefined || Date.now() > deadline) {
      const tail = (await readFile(join(root, 'server.log'), 'utf8').catch(() => '')).slice(-2_000);
      throw new Error(`postgres in ${root} ${failure ?? 'did not accept connections in time'}: ${tail}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const postmasterPid = Number((await readFile(join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
  process.once('exit', () => {
    // Exit hooks run synchronously, so only signal here (fast shutdown); the
    // watcher waits for the server to go and deletes the directory.
    try {
      process.kill(postmasterPid, 'SIGINT');
    } catch {
      // already gone
    }
  });
  return url;
}

/**
 * Stops the server and deletes its directory once this process is gone, however
 * it ends (normal exit, crash, SIGKILL): a detached shell polls our pid. The
 * postmaster pid comes from postmaster.pid because runuser forks. SIGINT is
 * PostgreSQL's fast shutdown; SIGKILL only if it hangs for 10 s.
 */
function removeWhenProcessEnds(root: string, dataDir: string): void {
  const script = [
    'while kill -0 "$1" 2>/dev/null; do sleep 0.5; done',
    'pid=$(head -n 1 "$3/postmaster.pid" 2>/dev/null)',
    'if [ -n "$pid" ]; then',
    '  kill -INT "$pid" 2>/dev/null',
    '  n=0; while kill -0 "$pid" 2>/dev/null && [ $n -lt 100 ]; do sleep 0.1; n=$((n+1)); done',
    '  kill -KILL "$pid" 2>/dev/null',
    'fi',
    'rm -rf "$2"',
  ].join('\n');
  spawn('sh', ['-c', script, 'parley-pg-cleanup', String(process.pid), root, dataDir], {
    detached: true,
    stdio: 'ignore',
  }).unref();
}

async function findPostgresBin(): Promise<string> {
  const versions = await readdir(DEBIAN_POSTGRES_ROOT).catch(() => [] as string[]);
  const newestFirst = versions.filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  for (const version of newestFirst) {
    const bin = join(DEBIAN_POSTGRES_ROOT, version, 'bin');
    const found = await Promise.all(['initdb', 'postgres'].map((name) => access(join(bin, name)).then(() => true, () => false)));
    if (found.every(Boolean)) return bin;
  }
  throw new Error(`no ${DEBIAN_POSTGRES_ROOT}/*/bin/initdb and postgres found`);
}

async function systemUser(name: string): Promise<{ uid: number; gid: number }> {
  const passwd = await readFile('/etc/passwd', 'utf8');
  const fields = passwd.split('\n').map((line) => line.split(':')).find((f) => f[0] === name);
  if (!fields) throw new Error(`running as root but there is no "${name}" system user to run PostgreSQL as`);
  return { uid: Number(fields[2]), gid: Number(fields[3]) };
}


function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}
