// An embedded Parley for the loadtest: `node --import tsx ops/cli.ts` as a child process on free
// ports with its own data directory and API key (optionally the null engines), ready when its
// banner says so; its output goes to a log file. Stopped with SIGTERM (SIGKILL after a grace).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

const ROOT = path.resolve(import.meta.dirname, '..');
const READY_TIMEOUT_MS = 90_000;
const STOP_GRACE_MS = 40_000;

export interface EmbeddedOptions {
  readonly nullEngines: boolean;
  readonly nullDelayMs: number;
  readonly logFile: string;
  readonly logLevel: string;
  /** Extra environment for Parley (PARLEY_*), on top of this process's environment. */
  readonly env?: Readonly<Record<string, string>>;
}

export interface EmbeddedParley {
  readonly url: string;
  readonly apiKey: string;
  readonly httpBase: string;
  /** Its nats-server (embedded), from the banner; undefined if the banner did not say. */
  readonly natsUrl: string | undefined;
  readonly pid: number;
  /** Its data directory (removed on stop); the embedded nats-server's store lives under it. */
  readonly dataDir: string;
  /** Prometheus text of the gateway process, or '' when it cannot be read. */
  scrapeMetrics(): Promise<string>;
  stop(): Promise<void>;
}

function waitExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function logTail(file: string): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.split('\n').slice(-15).join('\n');
}

export async function startEmbedded(opts: EmbeddedOptions): Promise<EmbeddedParley> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'parley-loadtest-'));
  const apiKey = `sk-loadtest-${randomBytes(12).toString('hex')}`;
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    PARLEY_DATA_DIR: dataDir,
    PARLEY_HOST: '127.0.0.1',
    PARLEY_PORT: '0',
    PARLEY_TLS_PORT: '0',
    PARLEY_API_KEYS: `${apiKey}:loadtest`,
    PARLEY_LOG_LEVEL: opts.logLevel,
    // The load generator runs on this machine: its CPU use would read as the gateway's overload and
    // the gate would refuse the sessions the run asked for. Set it in the environment to test the gate.
    PARLEY_ADMISSION_MAX_LAG_MS: process.env['PARLEY_ADMISSION_MAX_LAG_MS'] ?? '0',
    ...(opts.nullEngines
      ? { PARLEY_STT_ENGINE: 'null', PARLEY_LLM_ENGINE: 'null', PARLEY_TTS_ENGINE: 'null', PARLEY_NULL_ENGINE_DELAY_MS: String(opts.nullDelayMs) }
      : {}),
    ...opts.env,
  };
  // Its own process group: a terminal Ctrl-C reaches the loadtest, which then stops Parley in order.
  // LOADTEST_PARLEY_NODE_ARGS profiles the server under load, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
  const nodeArgs = (process.env['LOADTEST_PARLEY_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'ops/cli.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const log = createWriteStream(opts.logFile);
  child.stderr.pipe(log, { end: false });
  const exited = waitExit(child);
  const cleanup = async () => {
    await exited;
    log.end();
    await rm(dataDir, { recursive: true, force: true });
  };
  // Safety net if the loadtest process dies without stopping it.
  const onExit = () => child.kill('SIGTERM');
  process.once('exit', onExit);

  let url = '';
  let httpBase = '';
  let natsUrl: string | undefined;
  const ready = new Promise<void>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      log.write(`${line}\n`);
      const plain = /Realtime \(plain\)\s+(ws:\/\/\S+)/.exec(line);
      if (plain) url = plain[1]!;
      const health = /Health\s+(http:\/\/[^/\s]+)/.exec(line);
      if (health) httpBase = health[1]!;
      const nats = /NATS\s+(nats:\/\/\S+)/.exec(line);
      if (nats) natsUrl = nats[1]!;
      if (line.includes('Ctrl-C stops everything.')) resolve();
    });
    void exited.then(() => reject(new Error('embedded Parley exited before it was ready')));
    setTimeout(() => reject(new Error(`embedded Parley not ready after ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS).unref();
  });
  const killGroup = (pid: number | undefined, signal: NodeJS.Signals = 'SIGKILL') => {
    try {
      if (pid) process.kill(-pid, signal); // detached: the child leads its own group
    } catch {
      // the group is gone already
    }
  };
  const stop = async () => {
    process.off('exit', onExit);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      // Forced, the whole process group goes: Parley's nats-server would otherwise outlive it and
      // load every later run on the machine.
      const force = setTimeout(() => killGroup(child.pid), STOP_GRACE_MS);
      await exited;
      clearTimeout(force);
    }
    killGroup(child.pid, 'SIGTERM'); // anything of the group still there (a nats-server Parley could not stop)
    await cleanup();
  };
  try {
    await ready;
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}; last lines of ${opts.logFile}:\n${await logTail(opts.logFile)}`);
  }
  if (!url) {
    await stop();
    throw new Error('embedded Parley printed no ws:// URL in its banner');
  }
  return {
    url,
    apiKey,
    httpBase,
    natsUrl,
    pid: child.pid ?? -1,
    dataDir,
    scrapeMetrics: async () => (httpBase ? await fetch(`${httpBase}/metrics`).then((r) => r.text()).catch(() => '') : ''),
    stop,
  };
}
