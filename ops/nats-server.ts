// Starting a local nats-server with JetStream (the embedded default, and every integration test):
// a random free port chosen by the server itself (`-p -1`), readiness read from its log, stopped with
// SIGTERM (graceful: JetStream flushes) and SIGKILL after a grace period. A child never outlives us.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { ConfigError } from '../lib/errors.ts';

export interface NatsServerHandle {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  readonly storeDir: string;
  /** Graceful stop; resolves when the process has exited. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL, for failure tests. */
  kill(): void;
}

export interface NatsServerOptions {
  readonly bin?: string;
  readonly storeDir: string;
  readonly port?: number;
  readonly extraArgs?: readonly string[];
  readonly startTimeoutMs?: number;
  /**
   * Go scheduler threads (GOMAXPROCS) for the server. Unset: Go's default, one per core. Fewer
   * threads cost less CPU (Go parks and wakes fewer of them) but serialise the server: measured on
   * 2 cores with bench-pipeline, three interleaved runs each, GOMAXPROCS=1 against 2: nats-server
   * 0.43 vs 0.49 cores at 300 sessions, but platform latency p99 at 100 sessions 53 vs 37 ms
   * (medians) and at 300 sessions p50 176 vs 77 ms, p99 1,300 vs 577 ms.
   */
  readonly goMaxProcs?: number;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

export async function startNatsServer(o: NatsServerOptions): Promise<NatsServerHandle> {
  await mkdir(o.storeDir, { recursive: true });
  const bin = o.bin ?? 'nats-server';
  const args = ['-a', '127.0.0.1', '-p', String(o.port ?? -1), '-js', '-sd', o.storeDir, ...(o.extraArgs ?? [])];
  const env = o.goMaxProcs ? { ...process.env, GOMAXPROCS: String(o.goMaxProcs) } : process.env;
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  live.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => live.delete(child));
  const port = await new Promise<number>((resolve, reject) => {
    let log = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new ConfigError(`nats-server did not start within ${o.startTimeoutMs ?? 10_000} ms: ${log.slice(-500)}`));
    }, o.startTimeoutMs ?? 10_000);
    const onData = (chunk: Buffer) => {
      log += chunk.toString();
      const m = /Listening for client connections on [^\s]+:(\d+)/.exec(log);
      if (m && /Server is ready/.test(log)) {
        clearTimeout(timer);
        child.stderr?.off('data', onData);
        child.stdout?.off('data', onData);
        child.stderr?.resume();
        child.stdout?.resume();
        resolve(Number(m[1]));
      }
    };
    child.stderr?.on('data', onData);
    child.stdout?.on('data', onData);
    child.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new ConfigError(err.code === 'ENOENT' ? `${bin} is not installed (apt-get install nats-server, or set NATS_URL)` : err.message));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new ConfigError(`nats-server exited with ${code} during start: ${log.slice(-500)}`));
    });
  });
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    pid: child.pid ?? -1,
    storeDir: o.storeDir,
    async stop(graceMs = 5_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
    kill() {
      child.kill('SIGKILL');
    },
  };
}
