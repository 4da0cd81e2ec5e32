// Parley roles as real child processes (`node --import tsx ops/cli.ts <role>`), for scale-out and
// failure tests: start one with its own env, wait until it is ready, kill it with any signal.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../..');

export interface RoleProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly output: () => string;
  /** Resolves when a line matching `pattern` was logged (at or after output offset `from`). */
  waitFor(pattern: RegExp, timeoutMs?: number, from?: number): Promise<string>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** `wrapper` runs the role under another command, e.g. ['prlimit', '--nofile=300']. */
export async function startRole(name: string, args: string[], env: Record<string, string>, wrapper: readonly string[] = []): Promise<RoleProcess> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), `parley-${name}-`));
  const command = [...wrapper, process.execPath, '--import', 'tsx', 'ops/cli.ts', ...args];
  const child = spawn(command[0]!, command.slice(1), {
    cwd: root,
    env: { ...process.env, PARLEY_DATA_DIR: dataDir, PARLEY_INSTANCE_ID: name, PARLEY_LOG_LEVEL: 'info', PARLEY_PORT: '0', PARLEY_TLS_PORT: '0', PARLEY_HOST: '127.0.0.1', PARLEY_ADMISSION_MAX_LAG_MS: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let out = '';
  const listeners = new Set<() => void>();
  const onData = (b: Buffer) => {
    out += b.toString();
    if (out.length > 2_000_000) out = out.slice(-1_000_000);
    for (const l of listeners) l();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      live.delete(child);
      void rm(dataDir, { recursive: true, force: true });
      resolve(code);
    }),
  );
  const proc: RoleProcess = {
    name,
    child,
    output: () => out,
    waitFor(pattern, timeoutMs = 30_000, from = 0) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = pattern.exec(out.slice(from));
          if (m) {
            listeners.delete(check);
            clearTimeout(timer);
            resolve(m[0]);
          } else if (child.exitCode !== null) {
            listeners.delete(check);
            clearTimeout(timer);
            reject(new Error(`${name} exited (${child.exitCode}) before ${pattern}: ${out.slice(-1500)}`));
          }
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`${name}: no ${pattern} within ${timeoutMs} ms: ${out.slice(-1500)}`));
        }, timeoutMs);
        listeners.add(check);
        check();
      });
    },
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
  return proc;
}
