// Bench (issue 6, target 5): a distributed rate-limit check (budget 5 ms p99) and a session-state
// write (budget 50 ms p99) under concurrent load on a real nats-server, with a compare-and-set KV
// counter — the obvious alternative limiter — measured in the same run as the baseline.
// Usage: node --import tsx loadtest/bench-state.ts [--ops 20000] [--concurrency 64] [--keys 1000]
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createRootLogger } from '../lib/logger.ts';
import { connectBus } from '../lib/nats/bus.ts';
import { openBucket } from '../lib/nats/topology.ts';
import { RateLimiter } from '../lib/rate-limit.ts';
import { SessionStore } from '../lib/session-store.ts';
import { createCatalogue } from '../subjects/index.ts';
import { startNatsServer } from '../ops/nats-server.ts';
import { defaultSession } from '../gateway/session-config.ts';

const { values } = parseArgs({ options: { ops: { type: 'string', default: '20000' }, concurrency: { type: 'string', default: '64' }, keys: { type: 'string', default: '1000' }, runs: { type: 'string', default: '5' } } });
const ops = Number(values.ops);
const concurrency = Number(values.concurrency);
const keys = Number(values.keys);
const runs = Math.max(1, Number(values.runs));

const dir = await mkdtemp(path.join(os.tmpdir(), 'parley-state-'));
const nats = await startNatsServer({ storeDir: dir });
const log = createRootLogger({ level: 'silent' });
const bus = await connectBus({ url: nats.url, name: 'bench-state', catalogue: createCatalogue({ prefix: 'bench', partitions: 16 }), log });

async function measure(name: string, op: (i: number) => Promise<unknown>): Promise<{ name: string; p50: number; p99: number; max: number; rate: number }> {
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
  const rate = ops / ((performance.now() - started) / 1000);
  lat.sort((a, b) => a - b);
  const q = (f: number) => lat[Math.min(lat.length - 1, Math.floor(f * lat.length))]!;
  return { name, p50: q(0.5), p99: q(0.99), max: lat[lat.length - 1]!, rate };
}

const limiter = new RateLimiter(bus, 1, log);
await limiter.check('responses', 'warmup', 1_000_000);
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
    await measure('rate-limit check (JetStream window)', (i) => limiter.check('responses', `k${i % keys}`, 1_000_000)),
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
process.stdout.write(`\n${ops} operations, ${concurrency} concurrent (closed loop: as fast as the server answers), ${keys} keys, one nats-server 2.9 on this machine;\nmedian of ${runs} runs (ms), p99 range across the runs:\n`);
process.stdout.write('operation                                                 p50      p99      max     ops/s   p99 range\n');
const medians = all[0]!.map((first, k) => {
  const rows = all.map((r) => r[k]!);
  const m = { name: first.name, p50: median(rows.map((r) => r.p50)), p99: median(rows.map((r) => r.p99)), max: median(rows.map((r) => r.max)), rate: median(rows.map((r) => r.rate)) };
  const p99s = rows.map((r) => r.p99);
  process.stdout.write(`${m.name.padEnd(54)} ${m.p50.toFixed(2).padStart(7)}  ${m.p99.toFixed(2).padStart(7)}  ${m.max.toFixed(1).padStart(7)}  ${m.rate.toFixed(0).padStart(8)}   ${Math.min(...p99s).toFixed(2)}-${Math.max(...p99s).toFixed(2)}\n`);
  return m;
});
const [check, cas, write] = medians as [Row, Row, Row];
process.stdout.write(`\ntarget: rate-limit check p99 < 5 ms: ${check.p99.toFixed(2)} ms (baseline CAS counter ${cas.p99.toFixed(2)} ms, ${(cas.p99 / check.p99).toFixed(1)}x) ${check.p99 < 5 ? 'MET' : 'NOT MET'}\n`);
process.stdout.write(`target: session-state write p99 < 50 ms: ${write.p99.toFixed(2)} ms ${write.p99 < 50 ? 'MET' : 'NOT MET'}\n`);
await bus.close();
await nats.stop();
await rm(dir, { recursive: true, force: true });
