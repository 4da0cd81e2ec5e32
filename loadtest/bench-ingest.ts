// Bench (issue 6, target 4): input audio ingest. First the bus alone — PubAck'ed JetStream
// publishes with the client library's `js.publish` (baseline) and with Parley's AckingPublisher,
// same run. Then through one gateway process: S sessions each appending 20 ms of audio every 20 ms
// (50 appends/s per session) for T seconds; the gateway must publish all of it (coalesced into
// 40 ms frames) without falling behind. Reports the ceiling reached.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { benchArgs } from './bench-args.ts';
import { connect, headers } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { AckingPublisher } from '../lib/nats/acking-publisher.ts';
import { startNatsServer } from '../ops/nats-server.ts';
import { freePort } from '../lib/free-port.ts';
import type { IngestClientReport } from './ingest-clients.ts';

const { values } = benchArgs('Usage: node --import tsx loadtest/bench-ingest.ts [--sessions 250,500,1000] [--seconds 20] [--arrival 50] [--trace]', {
  options: { sessions: { type: 'string', default: '250,500,1000' }, seconds: { type: 'string', default: '20' }, clients: { type: 'string', default: '4' }, arrival: { type: 'string', default: '0' }, trace: { type: 'boolean', default: false } },
});
const levels = values.sessions.split(',').map(Number);
const seconds = Number(values.seconds);
// --arrival N: sessions arrive at N/s while the earlier ones stream, and every level runs twice,
// without the gateway's load gate (PARLEY_ADMISSION_MAX_LAG_MS=0) and with its default.
const arrival = Number(values.arrival);
const clientProcs = Number(values.clients);
const root = path.resolve(import.meta.dirname, '..');
const KEY = 'sk-bench-ingest-key';
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const dir = await mkdtemp(path.join(os.tmpdir(), 'parley-ingest-'));
const nats = await startNatsServer({ storeDir: path.join(dir, 'nats') });

// --- the bus alone -------------------------------------------------------------------------
async function busRate(kind: 'js.publish' | 'AckingPublisher', n: number, bytes: number, window: number): Promise<number> {
  const nc = await connect({ servers: nats.url, noAsyncTraces: true });
  const js = jetstream(nc);
  const pub = new AckingPublisher(nc);
  const payload = new Uint8Array(bytes);
  const inflight = new Set<Promise<unknown>>();
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    const h = headers();
    h.set('Nats-Msg-Id', `${kind}-${started}-${i}`);
    const p = kind === 'js.publish' ? js.publish(`ingest.bench.${i % 64}`, payload, { headers: h }) : pub.publish(`ingest.bench.${i % 64}`, payload, h);
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
    if (inflight.size >= window) await Promise.race(inflight);
  }
  await Promise.all(inflight);
  const rate = n / ((performance.now() - started) / 1000);
  pub.close();
  await nc.close();
  return rate;
}

const nc = await connect({ servers: nats.url });
await (await jetstreamManager(nc)).streams.add({ name: 'INGEST_BENCH', subjects: ['ingest.bench.*'], storage: 'memory' as never, max_bytes: 256 * 1024 * 1024 });
await nc.close();
const bus: Record<string, number[]> = { 'js.publish': [], AckingPublisher: [] };
for (let r = 0; r < 3; r++) {
  for (const kind of ['js.publish', 'AckingPublisher'] as const) bus[kind]!.push(await busRate(kind, 30_000, 1_920, 256));
}
process.stdout.write('\nJetStream publish with PubAck, 1920-byte frames (40 ms of 24 kHz PCM16), 256 in flight, median of 3:\n');
for (const [k, xs] of Object.entries(bus)) process.stdout.write(`  ${k.padEnd(16)} ${median(xs).toFixed(0).padStart(7)} msgs/s\n`);
process.stdout.write(`  ratio            ${(median(bus['AckingPublisher']!) / median(bus['js.publish']!)).toFixed(2)}x\n`);

// --- through one gateway --------------------------------------------------------------------
async function cpuSeconds(pid: number): Promise<number> {
  const f = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}
/** Each named series (summed over its labels) from one scrape of the gateway's /metrics. */
async function metricsOf(port: number, names: readonly string[]): Promise<number[]> {
  const lines = (await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()).split('\n');
  return names.map((name) => lines.filter((l) => l.startsWith(name)).reduce((n, l) => n + Number(l.split(' ').at(-1)), 0));
}
async function metric(port: number, name: string): Promise<number> {
  return (await metricsOf(port, [name]))[0]!;
}

// The audio stream is sized for what the run sends (all levels fit within its max age): at its byte
// cap nats-server 2.9 discards on every publish and ingest collapses, which is a sizing error of the
// deployment (README, PARLEY_AUDIO_MAX_BYTES), not the gateway's ceiling.
const audioMaxBytes = Math.max(512 * 1024 * 1024, Math.ceil(1.25 * levels.reduce((n, l) => n + l * 48_000 * (seconds + (arrival > 0 ? l / arrival : 0)), 0) * (arrival > 0 ? 2 : 1)));
const mode = arrival > 0 ? `sessions arriving at ${arrival}/s while the others stream, then ${seconds} s more` : `for ${seconds} s`;
process.stdout.write(`\nThrough one gateway process: 20 ms appends at real-time pace, ${mode} (${clientProcs} client processes); audio stream cap ${(audioMaxBytes / 2 ** 20).toFixed(0)} MiB (PARLEY_AUDIO_MAX_BYTES)\n`);
process.stdout.write('sessions  load gate  admitted  refused  appends/s  frames/s published  audio published  publish mean  gateway CPU  nats CPU  loop delay  failures  client timer late max\n');

/** One level through a fresh gateway; `gate` false turns the load gate off (PARLEY_ADMISSION_MAX_LAG_MS=0). */
async function runLevel(sessions: number, gate: boolean): Promise<void> {
  const port = await freePort();
  // BENCH_GATEWAY_NODE_ARGS profiles the gateway, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
  const nodeArgs = (process.env['BENCH_GATEWAY_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
  const gateEnv = gate ? {} : { PARLEY_ADMISSION_MAX_LAG_MS: '0' };
  const gw: ChildProcess = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'ops/cli.ts', 'gateway'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      ...process.env,
      ...gateEnv,
      NATS_URL: nats.url,
      PARLEY_API_KEYS: `${KEY}:bench`,
      PARLEY_PORT: String(port),
      PARLEY_TLS_PORT: '0',
      PARLEY_HOST: '127.0.0.1',
      PARLEY_DATA_DIR: path.join(dir, `gw-${sessions}-${gate}`),
      PARLEY_INSTANCE_ID: `ingest-gw-${sessions}-${gate ? 'gated' : 'open'}`,
      PARLEY_ADMISSION_PER_SECOND: '5000',
      PARLEY_AUDIO_MAX_BYTES: String(audioMaxBytes),
      PARLEY_RATE_LIMIT_SESSIONS_PER_MINUTE: String(Math.max(600, levels.reduce((a, b) => a + b, 0) * 4)),
      PARLEY_LOG_LEVEL: 'info',
    },
  });
  await new Promise<void>((resolve) => gw.stdout!.on('data', (b: Buffer) => b.toString().includes('gateway listening') && resolve()));
  const clients = Array.from({ length: clientProcs }, () => fork(path.join(root, 'loadtest/ingest-clients.ts'), [], { execArgv: ['--import', 'tsx'] }));
  const per = Math.ceil(sessions / clientProcs);
  await Promise.all(
    clients.map(
      (c, i) =>
        new Promise<void>((resolve) => {
          c.once('message', () => resolve());
          const count = Math.min(per, sessions - i * per);
          c.send({ type: 'start', url: `ws://127.0.0.1:${port}/v1/realtime?model=gpt-realtime`, key: KEY, count, seconds, chunkMs: 20, arrivalPerSecond: arrival > 0 ? (arrival * count) / sessions : 0 });
        }),
    ),
  );
  await new Promise((r) => setTimeout(r, 1_000));
  const totals = () => metricsOf(port, ['parley_audio_frames_published_total', 'parley_audio_published_seconds_total', 'parley_audio_publish_failures_total', 'parley_audio_publish_seconds_sum', 'parley_audio_publish_seconds_count']);
  const before = await totals();
  const cpu0 = await cpuSeconds(gw.pid!);
  const natsCpu0 = await cpuSeconds(nats.pid);
  const t0 = performance.now();
  const done = clients.map((c) => new Promise<IngestClientReport>((resolve) => c.once('message', (m: IngestClientReport) => resolve(m))));
  for (const c of clients) c.send({ type: 'go' });
  // --trace: once a second, the gateway's sessions, event loop (busy share, mean delay) and publish time.
  let last = { sum: 0, count: 0 };
  const tracer = values.trace
    ? setInterval(() => {
        void (async () => {
          const [conns, busyShare, delay, sum, count] = await metricsOf(port, ['parley_connections_active', 'parley_gateway_event_loop_utilization', 'parley_gateway_event_loop_delay_seconds', 'parley_audio_publish_seconds_sum', 'parley_audio_publish_seconds_count']);
          const publishMs = (1000 * (sum! - last.sum)) / Math.max(1, count! - last.count);
          last = { sum: sum!, count: count! };
          process.stdout.write(`          t=${((performance.now() - t0) / 1000).toFixed(0)} s  sessions ${conns}  loop busy ${(busyShare! * 100).toFixed(0)}%  loop delay ${(delay! * 1000).toFixed(0)} ms  publish ${publishMs.toFixed(1)} ms\n`);
        })().catch(() => undefined);
      }, 1_000)
    : undefined;
  const results = await Promise.all(done);
  clearInterval(tracer);
  const loopDelay = await metric(port, 'parley_gateway_event_loop_delay_seconds');
  await new Promise((r) => setTimeout(r, 1_500)); // let the last frames flush
  const elapsed = (performance.now() - t0) / 1000;
  const [frames, audioPublished, fails, pubSum, pubCount] = (await totals()).map((v, i) => v - before[i]!) as [number, number, number, number, number];
  const pubMean = pubSum / Math.max(1, pubCount);
  const cpu = ((await cpuSeconds(gw.pid!)) - cpu0) / elapsed;
  const natsCpu = ((await cpuSeconds(nats.pid)) - natsCpu0) / elapsed;
  const sent = results.reduce((n, r) => n + r.sent, 0);
  const admitted = results.reduce((n, r) => n + r.admitted, 0);
  const refused = new Map<string, number>();
  for (const r of results) for (const [status, n] of Object.entries(r.refused)) refused.set(status, (refused.get(status) ?? 0) + n);
  const refusedText = refused.size ? [...refused].map(([status, n]) => `${n}x${status}`).join(' ') : '0';
  const audioSent = (sent * 20) / 1000;
  const lateMax = Math.max(...results.map((r) => r.lateMax));
  process.stdout.write(
    `${String(sessions).padStart(8)}  ${(gate ? 'on' : 'off').padStart(9)}  ${String(admitted).padStart(8)}  ${refusedText.padStart(7)}  ${(sent / (elapsed - 1.5)).toFixed(0).padStart(9)}  ${(frames / elapsed).toFixed(0).padStart(18)}  ${`${((audioPublished * 100) / audioSent).toFixed(1)}% of sent`.padStart(15)}  ${(pubMean * 1000).toFixed(2).padStart(9)} ms  ${`${(cpu * 100).toFixed(0)}%`.padStart(11)}  ${`${(natsCpu * 100).toFixed(0)}%`.padStart(8)}  ${`${(loopDelay * 1000).toFixed(0)} ms`.padStart(10)}  ${String(fails).padStart(8)}  ${lateMax.toFixed(0).padStart(9)} ms\n`,
  );
  // SIGTERM when profiling, so the profile is written; the gateway's drain would wait, so SIGKILL after a while.
  gw.kill(nodeArgs.length ? 'SIGTERM' : 'SIGKILL');
  for (const c of clients) c.kill('SIGKILL');
  if (nodeArgs.length) await new Promise<void>((r) => (gw.exitCode !== null ? r() : gw.once('exit', () => r())));
}

for (const sessions of levels) {
  if (arrival > 0) await runLevel(sessions, false);
  await runLevel(sessions, true);
}
await nats.stop();
await rm(dir, { recursive: true, force: true });
