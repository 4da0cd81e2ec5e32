// Guarantees that no container or network of this test process outlives it. Testcontainers' own
// reaper (Ryuk) is an image from Docker Hub, which some machines cannot pull, so it is disabled and
// replaced by four layers: explicit stops in each file's `after()`; an exit hook that removes what
// is left synchronously; a detached watcher shell that waits for this process to end however it
// ends (even SIGKILL) and then removes everything labelled with this run; and a sweep, at the start
// of every run, of resources whose owning process is gone (the watcher died, the machine rebooted).
import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import type { Uuid } from 'testcontainers';

const run = promisify(execFile);

export const RUN_ID = `${process.pid}-${randomBytes(3).toString('hex')}`;
/** Every container of the suite carries these; the pid says whether its owner still lives. */
export const RUN_LABELS: Readonly<Record<string, string>> = {
  'org.parley.test': 'containers',
  'org.parley.test-run': RUN_ID,
  'org.parley.test-pid': String(process.pid),
};
const NETWORK_PREFIX = 'parley-test-';

/** Names networks `parley-test-<pid>-<hex>-<n>` (testcontainers' Network takes a name source). */
export class RunNetworkNames implements Uuid {
  private n = 0;
  nextUuid(): string {
    return `${NETWORK_PREFIX}${RUN_ID}-${++this.n}`;
  }
}

// Removes this run's containers (with their volumes) and then its networks. $1 = run id.
const REMOVE_RUN = [
  'ids=$(docker ps -aq --filter "label=org.parley.test-run=$1")',
  '[ -z "$ids" ] || docker rm -f -v $ids >/dev/null 2>&1',
  'nets=$(docker network ls -q --filter "name=parley-test-$1-")',
  '[ -z "$nets" ] || docker network rm $nets >/dev/null 2>&1',
  'true',
].join('\n');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Containers and networks left by test processes that no longer exist. */
async function sweepStale(): Promise<number> {
  const { stdout: ps } = await run('docker', ['ps', '-a', '--filter', 'label=org.parley.test', '--format', '{{.ID}} {{.Label "org.parley.test-pid"}}']);
  const deadContainers = ps
    .split('\n')
    .map((l) => l.trim().split(' '))
    .filter(([id, pid]) => id && !alive(Number(pid)))
    .map(([id]) => id as string);
  if (deadContainers.length) await run('docker', ['rm', '-f', '-v', ...deadContainers]).catch(() => undefined);
  const { stdout: nets } = await run('docker', ['network', 'ls', '--filter', `name=${NETWORK_PREFIX}`, '--format', '{{.Name}}']);
  const deadNetworks = nets
    .split('\n')
    .map((n) => n.trim())
    .filter((n) => n.startsWith(NETWORK_PREFIX) && !alive(Number(n.slice(NETWORK_PREFIX.length).split('-')[0])));
  if (deadNetworks.length) await run('docker', ['network', 'rm', ...deadNetworks]).catch(() => undefined);
  return deadContainers.length + deadNetworks.length;
}

let armed: Promise<void> | undefined;

/** Sweeps what earlier runs left, then arms the exit hook and the watcher for this run. Once per process. */
export function armCleanup(): Promise<void> {
  armed ??= (async () => {
    const swept = await sweepStale();
    if (swept) process.stderr.write(`parley containers: removed ${swept} container(s)/network(s) left by earlier runs\n`);
    const watcher = spawn('sh', ['-c', `while kill -0 "$2" 2>/dev/null; do sleep 1; done\n${REMOVE_RUN}`, 'parley-test-reaper', RUN_ID, String(process.pid)], {
      detached: true,
      stdio: 'ignore',
    });
    watcher.unref();
    process.once('exit', () => {
      try {
        execFileSync('sh', ['-c', REMOVE_RUN, 'parley-test-cleanup', RUN_ID], { stdio: 'ignore', timeout: 20_000 });
      } catch {
        // the watcher removes them once we are gone
      }
    });
  })();
  return armed;
}
