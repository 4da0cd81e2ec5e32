// Bench (issue 6, target 5): a distributed rate-limit check (budget 5 ms p99) and a session-state
// write (budget 50 ms p99) under concurrent load on a real nats-server, with a compare-and-set KV
// counter — the obvious alternative limiter — measured in the same run as the baseline.
// Two kinds of load: a closed loop (--concurrency callers, each issuing its next operation as soon as
// the last answers: the saturation point, where p99 is queueing) and open loops at fixed offered
// rates (--rates, checks/s, latency counted from each operation's scheduled time, so a stalled
// sender cannot hide its delay). A gateway checks once per response.create and new session: 10,000
// sessions answering every 5 s make 2,000 checks/s. Each open loop is paired with the floor: the same
// client path (AckingPublisher) to a plain core-NATS responder answering with a PubAck-shaped reply,
// at the same rate, through the same harness: one bus round trip on this host with no JetStream
// behind it, jitter included.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { benchArgs } from './bench-args.ts';
import { connect, headers as natsHeaders } from '@nats-io/transport-node';
import { createRootLogger } from '../lib/logger.ts';
import { connectBus } from '../lib/nats/bus.ts';
import { openBucket } from '../lib/nats/topology.ts';
import { RateLimiter } from '../lib/rate-limit.ts';
import { SessionStore } from '../lib/session-store.ts';
import { createCatalogue } from '../subjects/index.ts';
import { startNatsServer } from '../ops/nats-server.ts';
import { defaultSession } from '../gateway/session-config.ts';

const { values } = benchArgs('Usage: node --import tsx loadtest/bench-state.ts [--ops 20000] [--concurrency 64] [--keys 1000] [--rates 2000,10000,20000]', { options: { ops: { type: 'string', default: '20000' }, concurrency: { type: 'string', default: '64' }, keys: { type: 'string', default: '1000' }, runs: { type: 'string', default: '5' }, rates: { type: 'string', default: '2000,10000,20000' } } });
const rates = values.rates.split(',').map(Number).filter((r) => r > 0);
const ops = Number(values.ops);
const concurrency = Number(values.concurrency);
const keys = Number(values.keys);
const runs = Math.max(1, Number(values.runs));

const dir = await mkdtemp(path.join(os.tmpdir(), 'parley-state-'));
const nats = await startNatsServer({ storeDir: dir });
const log = createRootLogger({ level: 'silent' });
const bus = await connectBus({ url: nats.url, name: 'bench-state', catalogue: createCatalogue({ prefix: 'bench', partitions: 16 }), log });

/** p50, p99 and max of the latencies, and the operations per second achieved since `started`. */
function summarize(name: string, lat: number[], started: number): { name: string; p50: number; p99: number; max: number; rate: number } {
  const rate = lat.length / ((performance.now() - started) / 1000);
  lat.sort((a, b) => a - b);
  const q = (f: number) => lat[Math.min(lat.length - 1, Math.floor(f * lat.length))]!;
  return { name, p50: q(0.5), p99: q(0.99), max: lat[lat.length - 1]!, rate };
}

async function measure(name: string, op: (i: number) => Promise<unknown>): Promise<ReturnType<typeof summarize>> {
  const lat: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < ops; i = next++) {
        const t = performance.now();
        await op(i);
        lat.push(performance.now() - t);
      }
    }),
  );
  return summarize(name, lat, started);
}

/** Open loop: operation i is due at start + i / rate; its latency runs from then, not from when it was sent. */
async function measureOpenLoop(name: string, rate: number, op: (i: number) => Promise<unknown>): Promise<ReturnType<typeof summarize>> {
  const lat: number[] = [];
  const count = Math.min(ops, Math.max(2_000, rate * 3));
  const inflight = new Set<Promise<void>>();
  const started = performance.now();
  let i = 0;
  while (i < count) {
    const due = started + (i * 1000) / rate;
    const now = performance.now();
    if (due > now) {
      await new Promise((r) => setTimeout(r, Math.max(0, due - now)));
      continue;
    }
    // Everything due by now goes out in this turn of the loop (bounded: at most 10,000 in flight).
    for (; i < count && started + (i * 1000) / rate <= now && inflight.size < 10_000; i++) {
      const scheduled = started + (i * 1000) / rate;
      const p: Promise<void> = op(i).then(() => {
        lat.push(performance.now() - scheduled);
        inflight.delete(p);
      });
      inflight.add(p);
    }
    if (inflight.size >= 10_000) await Promise.race(inflight);
  }
  await Promise.all(inflight);
  return summarize(name, lat, started);
}

const responder = await connect({ servers: nats.url, name: 'bench-state-floor' });
const fakeAck = new TextEncoder().encode('{"stream":"FLOOR","seq":1}');
responder.subscribe('bench.floor', { callback: (_err, m) => void m.respond(fakeAck) });
await responder.flush();

const limiter = new RateLimiter(bus, 1, log);
await limiter.check('responses', 'warmup', 1_000_000);
const rateCheck = (i: number) => limiter.check('responses', `k${i % keys}`, 1_000_000);
const casKv = await openBucket(bus, { role: 'sessions', name: 'bench_cas', description: 'bench: CAS counters', ttlMs: 60_000, storage: 'memory', replicas: 1, history: 1 });
const sessionsKv = await openBucket(bus, { role: 'sessions', name: 'bench_sessions', description: 'bench: session records', ttlMs: 600_000, storage: 'file', replicas: 1, history: 1 });
const store = new SessionStore(sessionsKv);

/** The baseline limiter: read the window count, compare-and-set it one higher, retry on conflict. */
async function casCheck(key: string, limit: number): Promise<boolean> {
  for (;;) {
    const e = await casKv.get(key);
    const n = e && e.operation === 'PUT' ? Number(e.string()) : 0;
    if (n >= limit) return false;
    try {
      if (e && e.operation === 'PUT') await casKv.update(key, String(n + 1), e.revision);
      else await casKv.create(key, String(n + 1));
      return true;
    } catch {
      /* lost the race: read again */
    }
  }
}

const revisions = new Map<string, number>();
type Row = Awaited<ReturnType<typeof measure>>;
const all: Row[][] = [];
for (let run = 0; run < runs; run++) {
  all.push([
    ...(await rates.reduce<Promise<Row[]>>(
      async (acc, rate) => [
        ...(await acc),
        await measureOpenLoop(`rate-limit check, open loop at ${rate}/s`, rate, rateCheck),
        await measureOpenLoop(`  floor: core NATS round trip at ${rate}/s`, rate, () => bus.publisher.publish('bench.floor', new Uint8Array(0), natsHeaders())),
      ],
      Promise.resolve([]),
    )),
    await measure('rate-limit check (JetStream window)', rateCheck),
    await measure('rate-limit check, baseline: KV CAS counter', (i) => casCheck(`k${i % keys}`, 1_000_000)),
    await measure('session-state write (KV create / CAS update, ~1.5 KB)', async (i) => {
      const id = `sess_bench${i % keys}`;
      const cfg = defaultSession({ id, model: 'gpt-realtime', type: 'realtime', expiresAt: 0 });
      const rev = await store.save({ id, tenantId: 'bench', iface: 'ga', gatewayId: 'gw', config: cfg as unknown as Record<string, unknown>, createdAt: 0, updatedAt: Date.now() }, revisions.get(id));
      revisions.set(id, rev);
    }),
  ]);
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
process.stdout.write(`\nclosed loop: ${ops} operations, ${concurrency} concurrent (as fast as the server answers); open loop: at the offered rate, from the scheduled time;\n${keys} keys, one nats-server 2.9 on this machine; median of ${runs} runs (ms), p99 range across the runs:\n`);
process.stdout.write('operation                                                 p50      p99      max     ops/s   p99 range\n');
const medians = all[0]!.map((first, k) => {
  const rows = all.map((r) => r[k]!);
  const m = { name: first.name, p50: median(rows.map((r) => r.p50)), p99: median(rows.map((r) => r.p99)), max: median(rows.map((r) => r.max)), rate: median(rows.map((r) => r.rate)) };
  const p99s = rows.map((r) => r.p99);
  process.stdout.write(`${m.name.padEnd(54)} ${m.p50.toFixed(2).padStart(7)}  ${m.p99.toFixed(2).padStart(7)}  ${m.max.toFixed(1).padStart(7)}  ${m.rate.toFixed(0).padStart(8)}   ${Math.min(...p99s).toFixed(2)}-${Math.max(...p99s).toFixed(2)}\n`);
  return m;
});
const open = medians.slice(0, 2 * rates.length);
const [check, cas, write] = medians.slice(2 * rates.length) as [Row, Row, Row];
for (const [k, rate] of rates.entries()) {
  const [o, f] = [open[2 * k]!, open[2 * k + 1]!];
  process.stdout.write(`\ntarget: rate-limit check p99 < 5 ms at ${rate} checks/s offered: ${o.p99.toFixed(2)} ms (floor, a core NATS round trip at that rate: ${f.p99.toFixed(2)} ms) ${o.p99 < 5 ? 'MET' : 'NOT MET'}`);
}
process.stdout.write(`\ntarget: rate-limit check p99 < 5 ms, saturated closed loop (${check.rate.toFixed(0)} checks/s): ${check.p99.toFixed(2)} ms (baseline CAS counter ${cas.p99.toFixed(2)} ms, ${(cas.p99 / check.p99).toFixed(1)}x) ${check.p99 < 5 ? 'MET' : 'NOT MET'}\n`);
process.stdout.write(`target: session-state write p99 < 50 ms: ${write.p99.toFixed(2)} ms ${write.p99 < 50 ? 'MET' : 'NOT MET'}\n`);
await responder.close();
await bus.close();
await nats.stop();
await rm(dir, { recursive: true, force: true });
