// Runs Parley against the suite's NATS and PostgreSQL: every role in this process (startRoles, as
// `npm start` does, VAD in a worker thread), or each role as its own `ops/cli.ts` process the way a
// deployment runs it. Logs go to files (PARLEY_TEST_LOG=1: also the in-process log on stderr), so a
// failing scenario can show what each role said.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../../lib/config.ts';
import { createRootLogger } from '../../../lib/logger.ts';
import { startRoles, ALL_ROLES, type Running } from '../../../ops/runtime.ts';

export const TEST_KEY = 'sk-test-parley-containers-a';
const root = path.resolve(import.meta.dirname, '../../..');

export interface ParleyTarget {
  readonly natsUrls: readonly string[];
  readonly db: { readonly url: string; readonly schema: string };
  readonly replicas?: number;
  readonly env?: Record<string, string>;
}

export interface GatewayEndpoint {
  readonly wssBase: string;
  readonly certFile: string;
}

function parleyEnv(t: ParleyTarget, dataDir: string, instanceId: string): Record<string, string> {
  return {
    PARLEY_DATA_DIR: dataDir,
    PARLEY_HOST: '127.0.0.1',
    PARLEY_PORT: '0',
    PARLEY_TLS_PORT: '0',
    PARLEY_API_KEYS: `${TEST_KEY}:tenant-a`,
    PARLEY_INSTANCE_ID: instanceId,
    NATS_URL: t.natsUrls.join(','),
    PARLEY_NATS_REPLICAS: String(t.replicas ?? 1),
    DATABASE_URL: t.db.url,
    PARLEY_DB_SCHEMA: t.db.schema,
    // Containers and the suite share two cores: their load would read as the gateway's overload.
    PARLEY_ADMISSION_MAX_LAG_MS: '0',
    ...t.env,
  };
}

export interface InProcessParley extends GatewayEndpoint {
  readonly running: Running;
  logTail(lines?: number): Promise<string>;
  stop(): Promise<void>;
}

export async function startParleyInProcess(t: ParleyTarget): Promise<InProcessParley> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'parley-containers-'));
  const logFile = path.join(dataDir, 'parley.log');
  const verbose = Boolean(process.env['PARLEY_TEST_LOG']);
  const config = loadConfig({ ...parleyEnv(t, dataDir, `tc-${process.pid}`), PARLEY_LOG_LEVEL: verbose ? 'debug' : 'error' });
  const file = createWriteStream(logFile);
  const log = createRootLogger({ level: config.logLevel, destination: verbose ? process.stderr : file });
  const running = await startRoles(config, log, { roles: ALL_ROLES, threads: ['vad'] });
  const gw = running.gateway!;
  return {
    running,
    wssBase: `https://127.0.0.1:${gw.tlsPort}/v1`,
    certFile: gw.certFile,
    logTail: async (lines = 40) => (await readFile(logFile, 'utf8').catch(() => '')).split('\n').slice(-lines).join('\n'),
    async stop() {
      await running.stop();
      await new Promise<void>((resolve) => file.end(resolve));
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface RoleProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly logFile: string;
  /** The health (stages) or plain HTTP (gateway) port it reported. */
  readonly port: number;
  readonly gateway: GatewayEndpoint | undefined;
  log(): Promise<string>;
  /** SIGKILL, no goodbye. */
  kill(): void;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
}

/** Spawns `node --import tsx ops/cli.ts <args>` and waits for its listening log line and /ready. */
export async function spawnRole(name: string, args: readonly string[], t: ParleyTarget, runDir: string): Promise<RoleProcess> {
  const dataDir = path.join(runDir, name);
  const logFile = path.join(runDir, `${name}.log`);
  const out = createWriteStream(logFile);
  const env = { ...process.env, ...parleyEnv(t, dataDir, name), PARLEY_LOG_LEVEL: process.env['PARLEY_TEST_LOG'] ? 'debug' : 'info' };
  const child = spawn(process.execPath, ['--import', 'tsx', 'ops/cli.ts', ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.pipe(out);
  child.stderr.pipe(out);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let text = '';
  child.stdout.on('data', (b: Buffer) => {
    if (text.length < 200_000) text += b.toString();
  });
  reapWithUs(child);
  const deadline = Date.now() + 90_000;
  let listening: { port?: number; tlsPort?: number } | undefined;
  while (!listening) {
    listening = listeningLine(text);
    if (listening) break;
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`${name} did not start: ${(await readFile(logFile, 'utf8').catch(() => '')).slice(-1500)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const port = listening.port ?? 0;
  const tlsPort = listening.tlsPort ?? 0;
  await waitReady(name, port, deadline);
  return {
    name,
    child,
    logFile,
    port,
    gateway: tlsPort ? { wssBase: `https://127.0.0.1:${tlsPort}/v1`, certFile: path.join(dataDir, 'tls', 'cert.pem') } : undefined,
    log: () => readFile(logFile, 'utf8').catch(() => ''),
    kill: () => child.kill('SIGKILL'),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const force = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(force);
      }
      out.end();
    },
  };
}

/** The log line a role prints once it listens: `gateway listening` or `parley roles running`. */
function listeningLine(text: string): { port?: number; tlsPort?: number } | undefined {
  for (const line of text.split('\n')) {
    if (!line.includes('gateway listening') && !line.includes('parley roles running')) continue;
    try {
      return JSON.parse(line) as { port?: number; tlsPort?: number };
    } catch {
      // a partial line: the rest is still coming
    }
  }
  return undefined;
}

const live = new Set<ChildProcess>();
process.once('exit', () => live.forEach((c) => c.kill('SIGKILL')));

/** A role process never outlives the test process: killed on exit, and by a watcher if we are killed. */
function reapWithUs(child: ChildProcess): void {
  const pid = child.pid;
  if (!pid) return;
  live.add(child);
  child.once('exit', () => live.delete(child));
  spawn('sh', ['-c', 'while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 1; done; kill -9 "$2" 2>/dev/null; true', 'parley-role-reaper', String(process.pid), String(pid)], {
    detached: true,
    stdio: 'ignore',
  }).unref();
}

async function waitReady(name: string, port: number, deadline: number): Promise<void> {
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${port}/ready`).then((r) => r.ok, () => false);
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${name} never became ready on :${port}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
