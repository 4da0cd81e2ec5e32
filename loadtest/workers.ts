// The parent's side of the worker processes: forks `--n-workers` copies of worker.ts through tsx,
// waits until each is ready, deals the sessions out round-robin, sets one run start for all,
// forwards every IPC record to the caller and makes sure every worker has exited at the end.
import { fork, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { epochNow, type FromWorker, type LoadtestConfig, type ToWorker, type Utterance } from './types.ts';

const WORKER_ENTRY = path.join(import.meta.dirname, 'worker.ts');
const ROOT = path.resolve(import.meta.dirname, '..');
const READY_TIMEOUT_MS = 60_000;
const EXIT_GRACE_MS = 10_000;

export interface WorkerPool {
  readonly runStartEpochMs: number;
  readonly pids: readonly number[];
  /** Resolves when every worker has exited. */
  readonly finished: Promise<void>;
  /** Asks every worker to end its sessions now (they still report what they have). */
  stop(): void;
}

function send(child: ChildProcess, msg: ToWorker): void {
  if (child.connected) child.send(msg);
}

export async function startWorkers(opts: {
  readonly config: LoadtestConfig;
  readonly corpus: readonly Utterance[];
  readonly onMessage: (msg: FromWorker, worker: number) => void;
}): Promise<WorkerPool> {
  const n = Math.max(1, opts.config.nWorkers);
  const children: ChildProcess[] = [];
  const exits: Array<Promise<void>> = [];
  const ready: Array<Promise<void>> = [];
  for (let w = 0; w < n; w++) {
    const child = fork(WORKER_ENTRY, [], { cwd: ROOT, execArgv: [...(process.env['LOADTEST_WORKER_NODE_ARGS'] ?? '').split(' ').filter(Boolean), '--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    children.push(child);
    if (opts.config.clientNice && child.pid) os.setPriority(child.pid, opts.config.clientNice);
    let reportedEnd = false;
    exits.push(
      new Promise((resolve) => {
        child.once('exit', (code, signal) => {
          if (!reportedEnd) opts.onMessage({ type: 'fatal', message: `worker ${w} exited early (code ${code}, signal ${signal})` }, w);
          resolve();
        });
      }),
    );
    ready.push(
      new Promise((resolve, reject) => {
        child.once('exit', () => reject(new Error(`worker ${w} exited before it was ready`)));
        child.on('message', (raw) => {
          const msg = raw as FromWorker;
          if (msg.type === 'ready') return resolve();
          if (msg.type === 'done' || msg.type === 'fatal') {
            reportedEnd = true;
            if (child.connected) child.disconnect();
          }
          opts.onMessage(msg, w);
        });
      }),
    );
  }
  const killAll = () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  };
  try {
    await Promise.race([
      Promise.all(ready),
      new Promise((_, reject) => setTimeout(() => reject(new Error(`workers not ready after ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS).unref()),
    ]);
  } catch (err) {
    killAll();
    await Promise.all(exits);
    throw err;
  }
  // Every worker is up (tsx compiled, corpus path known): one common origin, a moment ahead.
  const runStartEpochMs = epochNow() + 200;
  children.forEach((child, w) => {
    const sessions = Array.from({ length: opts.config.sessions }, (_, i) => i).filter((i) => i % n === w);
    send(child, { type: 'start', worker: w, config: opts.config, sessions, corpus: opts.corpus, runStartEpochMs });
  });
  const all = Promise.all(exits).then(() => undefined);
  return {
    runStartEpochMs,
    pids: children.map((c) => c.pid ?? -1),
    finished: all,
    stop() {
      for (const c of children) send(c, { type: 'stop' });
      // A worker that does not wrap up in time is killed, so no process outlives the run.
      const t = setTimeout(killAll, EXIT_GRACE_MS);
      void all.then(() => clearTimeout(t));
    },
  };
}
