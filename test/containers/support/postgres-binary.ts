// The no-Docker fallback's PostgreSQL: a throwaway server from Debian's binaries on a port of its
// own, which (unlike test/support/postgres.ts, which may hand out the machine's shared server) can be
// stopped and started again for the outage scenario. As root it runs as the `postgres` user. A
// detached watcher stops it and deletes its files when this process ends, however it ends.
import { execFile, spawn } from 'node:child_process';
import { chown, mkdtemp, open, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../../lib/free-port.ts';
import { FAST_SETTINGS, waitForPostgres, type PostgresDeployment } from './pg-client.ts';

const run = promisify(execFile);

async function postgresBin(): Promise<string> {
  const versions = (await readdir('/usr/lib/postgresql').catch(() => [] as string[])).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  if (!versions[0]) throw new Error('no /usr/lib/postgresql/<version>/bin: apt-get install postgresql');
  return `/usr/lib/postgresql/${versions[0]}/bin`;
}

async function postgresUser(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const fields = (await readFile('/etc/passwd', 'utf8')).split('\n').map((l) => l.split(':')).find((f) => f[0] === 'postgres');
  if (!fields) throw new Error('running as root but there is no postgres system user to run PostgreSQL as');
  return { uid: Number(fields[2]), gid: Number(fields[3]) };
}

function watchdog(root: string, dataDir: string): void {
  const script = [
    'while kill -0 "$1" 2>/dev/null; do sleep 0.5; done',
    'pid=$(head -n 1 "$3/postmaster.pid" 2>/dev/null)',
    '[ -n "$pid" ] && kill -INT "$pid" 2>/dev/null && sleep 1',
    'rm -rf "$2"',
  ].join('\n');
  spawn('sh', ['-c', script, 'parley-pg-watchdog', String(process.pid), root, dataDir], { detached: true, stdio: 'ignore' }).unref();
}

export async function startSpawnedPostgres(): Promise<PostgresDeployment> {
  const bin = await postgresBin();
  const owner = await postgresUser();
  const as = (file: string, args: string[]): [string, string[]] => (owner ? ['runuser', ['-u', 'postgres', '--', file, ...args]] : [file, args]);
  const root = await mkdtemp(join(tmpdir(), 'parley-containers-pg-'));
  if (owner) await chown(root, owner.uid, owner.gid);
  const dataDir = join(root, 'data');
  watchdog(root, dataDir);
  const [initdb, initArgs] = as(join(bin, 'initdb'), ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync']);
  await run(initdb, initArgs, { cwd: root });
  const port = await freePort();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;

  const launch = async () => {
    const log = await open(join(root, 'server.log'), 'a');
    const settings = ['listen_addresses=127.0.0.1', 'unix_socket_directories=', ...FAST_SETTINGS];
    const [file, args] = as(join(bin, 'postgres'), ['-D', dataDir, '-p', String(port), ...settings.flatMap((s) => ['-c', s])]);
    spawn(file, args, { cwd: root, detached: true, stdio: ['ignore', log.fd, log.fd] }).unref();
    await log.close();
    await waitForPostgres(url);
  };
  const postmaster = async () => Number((await readFile(join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
  const shutdown = async () => {
    const pid = await postmaster().catch(() => 0);
    if (!pid) return;
    process.kill(pid, 'SIGINT');
    for (let i = 0; i < 200; i++) {
      try {
        process.kill(pid, 0);
      } catch {
        return;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    process.kill(pid, 'SIGKILL');
  };
  await launch();
  return {
    url,
    stop: shutdown,
    start: launch,
    async close() {
      await shutdown();
      await run('rm', ['-rf', root]);
    },
  };
}
