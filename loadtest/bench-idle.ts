// Bench (issue 6, target 3): idle Realtime sessions held by Parley gateways, and the memory they
// cost, against a bare uWebSockets.js server and a plain `ws` server holding the same number of
// connections, measured in the same run. Parley sessions are real: authenticated, session.created
// sent, session state in KV, heartbeats, the input-audio config on the bus.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { benchArgs } from './bench-args.ts';
import { startNatsServer } from '../ops/nats-server.ts';
import { freePort } from '../lib/free-port.ts';

const { values } = benchArgs('Usage: node --import tsx loadtest/bench-idle.ts [--sessions 50000] [--gateways 3] [--rate 1500]', {
  options: {
    sessions: { type: 'string', default: '50000' },
    gateways: { type: 'string', default: '3' },
    rate: { type: 'string', default: '1500' },
    'baseline-sessions': { type: 'string', default: '15000' },
    hold: { type: 'string', default: '40' },
  },
});
const sessions = Number(values.sessions);
const gatewayCount = Number(values.gateways);
const rate = Number(values.rate);
const baselineSessions = Number(values['baseline-sessions']);
/** Seconds the sessions are held after the ramp: longer than the 30 s heartbeat TTL, so a session
 * whose heartbeats did not keep up would be closed by the reaper before the second count. */
const holdS = Number(values.hold);
const root = path.resolve(import.meta.dirname, '..');
const KEY = 'sk-bench-idle-key';
const PER_CLIENT = 12_000;


async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

interface ClientCounts {
  opened: number;
  created: number;
  failed: number;
  closed: number;
  reasons: Record<string, number>;
}

/** Sockets still open across the client processes (a session the gateway dropped shows up as closed). */
async function countClients(procs: ChildProcess[]): Promise<ClientCounts> {
  const counts = await Promise.all(
    procs.map(
      (p) =>
        new Promise<ClientCounts>((resolve) => {
          const onMessage = (m: { type: string } & ClientCounts) => {
            if (m.type !== 'count') return;
            p.off('message', onMessage);
            resolve(m);
          };
          p.on('message', onMessage);
          p.send({ type: 'count' });
        }),
    ),
  );
  const reasons: Record<string, number> = {};
  for (const c of counts) for (const [k, v] of Object.entries(c.reasons)) reasons[k] = (reasons[k] ?? 0) + v;
  return counts.reduce((a, c) => ({ opened: a.opened + c.opened, created: a.created + c.created, failed: a.failed + c.failed, closed: a.closed + c.closed, reasons }));
}

/** `firstAddress`: client process i uses the loopback source address 127.0.0.(2 + firstAddress + i). */
async function openClients(url: string, count: number, perSecond: number, expectSession: boolean, firstAddress = 0): Promise<{ created: number; failed: number; procs: ChildProcess[] }> {
  const procs: ChildProcess[] = [];
  const parts = Math.ceil(count / PER_CLIENT);
  const results = await Promise.all(
    Array.from({ length: parts }, (_, i) => {
      const n = Math.min(PER_CLIENT, count - i * PER_CLIENT);
      const child = fork(path.join(root, 'loadtest/idle-clients.ts'), [], { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
      procs.push(child);
      return new Promise<{ created: number; failed: number }>((resolve) => {
        child.on('message', (m: { type: string; created: number; failed: number }) => {
          if (m.type === 'ready') resolve(m);
        });
        child.send({ type: 'start', url, key: KEY, count: n, perSecond: perSecond / parts, expectSession, localAddress: `127.0.0.${2 + firstAddress + i}` });
      });
    }),
  );
  return { created: results.reduce((a, r) => a + r.created, 0), failed: results.reduce((a, r) => a + r.failed, 0), procs };
}

function closeClients(procs: ChildProcess[]): void {
  for (const p of procs) p.send({ type: 'close' });
}

async function settle(): Promise<void> {
  await new Promise((r) => setTimeout(r, 3_000));
}

/**
 * Bare uWS or ws: memory per connection, as the marginal cost of `n` connections on top of a warm
 * server already holding a few (a cold server's RSS moves by more than uWS's per-connection cost
 * as start-up garbage is collected and pages are returned), read after a full GC as RSS less the
 * V8 heap pages holding no live object (baseline-servers.ts).
 */
async function baseline(kind: 'uws' | 'ws', n: number): Promise<number> {
  const port = await freePort();
  const url = `ws://127.0.0.1:${port}/v1/realtime`;
  const server = fork(path.join(root, 'loadtest/baseline-servers.ts'), [kind, String(port)], { execArgv: ['--expose-gc', '--import', 'tsx'] });
  await new Promise<void>((r) => server.once('message', () => r()));
  const collectedRss = async () => {
    await settle();
    return new Promise<number>((r) => {
      const done = (m: { type?: string; footprint?: number }) => m.type === 'gc-done' && (server.off('message', done), r(m.footprint ?? 0));
      server.on('message', done);
      server.send({ type: 'gc' });
    });
  };
  const warm = await openClients(url, Math.min(1_000, Math.ceil(n / 10)), 4_000, true);
  const before = await collectedRss();
  const { created, procs } = await openClients(url, n, 4_000, true, 1);
  const after = await collectedRss();
  closeClients([...warm.procs, ...procs]);
  server.kill('SIGKILL');
  return (after - before) / created;
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'parley-idle-'));
const logDir = await mkdtemp(path.join(os.tmpdir(), 'parley-idle-logs-'));
const nats = await startNatsServer({ storeDir: path.join(dir, 'nats') });
const port = await freePort();
const gateways: ChildProcess[] = [];
for (let g = 0; g < gatewayCount; g++) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'ops/cli.ts', 'gateway'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      ...process.env,
      NATS_URL: nats.url,
      PARLEY_API_KEYS: `${KEY}:bench`,
      PARLEY_PORT: String(port),
      PARLEY_TLS_PORT: '0',
      PARLEY_HOST: '127.0.0.1',
      PARLEY_DATA_DIR: path.join(dir, `gw${g}`),
      PARLEY_INSTANCE_ID: `idle-gw-${g}`,
      // The kernel spreads connections over the gateways unevenly: each may admit the whole rate.
      PARLEY_ADMISSION_PER_SECOND: String(rate * 2),
      // One bench tenant opens every session: its per-minute session limit must not refuse them.
      PARLEY_RATE_LIMIT_SESSIONS_PER_MINUTE: String(Math.max(600, sessions * 2)),
      // info: its 'gateway listening' line tells us it is up (one line per session after that).
      PARLEY_LOG_LEVEL: 'info',
    },
  });
  gateways.push(child);
  child.stdout!.pipe(createWriteStream(path.join(logDir, `gateway-${g}.log`)));
  await new Promise<void>((resolve) => child.stdout!.on('data', (b: Buffer) => b.toString().includes('gateway listening') && resolve()));
  process.stdout.write(`gateway ${g + 1}/${gatewayCount} up (pid ${child.pid})\n`);
}
await settle();
const rssBefore = await Promise.all(gateways.map((g) => rssOf(g.pid!)));
const started = performance.now();
process.stdout.write(`opening ${sessions} sessions at ${rate}/s...\n`);
const parley = await openClients(`ws://127.0.0.1:${port}/v1/realtime?model=gpt-realtime`, sessions, rate, true);
const rampS = (performance.now() - started) / 1000;
await settle();
const rssAfter = await Promise.all(gateways.map((g) => rssOf(g.pid!)));
const total = rssAfter.reduce((a, b) => a + b, 0);
const perSession = (total - rssBefore.reduce((a, b) => a + b, 0)) / parley.created;
process.stdout.write(`holding ${parley.created} sessions for ${holdS} s (heartbeat TTL 30 s)...\n`);
await new Promise((r) => setTimeout(r, holdS * 1000));
const held = await countClients(parley.procs);
const rssHeld = await Promise.all(gateways.map((g) => rssOf(g.pid!)));
const natsRss = await rssOf(nats.pid);
closeClients(parley.procs);
for (const g of gateways) g.kill('SIGTERM');
await nats.stop();

const uwsPer = await baseline('uws', baselineSessions);
const wsPer = await baseline('ws', baselineSessions);
await rm(dir, { recursive: true, force: true });

const kb = (b: number) => `${(b / 1024).toFixed(2)} KB`;
const mb = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MiB`;
process.stdout.write(`\nidle sessions: ${parley.created}/${sessions} created (${parley.failed} failed) on ${gatewayCount} gateway processes sharing port ${port}, ramp ${rampS.toFixed(0)} s\n`);
process.stdout.write(`gateway RSS: before ${rssBefore.map(mb).join(' + ')}; after ${rssAfter.map(mb).join(' + ')} = ${mb(total)} total; after ${holdS} s held ${rssHeld.map(mb).join(' + ')} = ${mb(rssHeld.reduce((a, b) => a + b, 0))} total (nats-server ${mb(natsRss)})\n`);
process.stdout.write(`after ${holdS} s: ${held.created - held.closed} sessions still open, ${held.closed} closed (gateway logs: ${logDir})\n`);
if (Object.keys(held.reasons).length) process.stdout.write(`client-side failures and closes: ${JSON.stringify(held.reasons)}\n`);
process.stdout.write(`per session: Parley ${kb(perSession)} | bare uWS ${kb(uwsPer)} | ws ${kb(wsPer)} (baselines: ${baselineSessions} connections each, same run)\n`);
