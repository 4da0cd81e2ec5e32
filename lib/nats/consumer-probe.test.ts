// The consumer probe against a real nats-server: a consumer that stops delivering is declared
// stalled within its window, and a busy event loop (probes that came back but were not read yet)
// is not taken for a stall; right after a rebuild the window is the shorter verifyMs.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { AckPolicy, StorageType } from '@nats-io/jetstream';
import { startTestBus, type TestBus } from '../../test/support/bus.ts';
import { startConsumerProbe } from './consumer-probe.ts';

let testBus: TestBus;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  testBus = await startTestBus({ prefix: 'cp' });
  await testBus.bus.jsm.streams.add({ name: 'CP', subjects: ['cp.>'], storage: StorageType.Memory });
});
after(async () => {
  await testBus?.stop();
});

/** A durable consumer on `subject` whose every message counts as a probe coming back. */
async function probedConsumer(name: string, opts: { everyMs: number; staleMs: number; verifyMs?: number }) {
  const { bus } = testBus;
  const subject = `cp.${name}`;
  await bus.jsm.consumers.add('CP', { durable_name: name, ack_policy: AckPolicy.Explicit, filter_subject: subject });
  const messages = await (await bus.js.consumers.get('CP', name)).consume({ max_messages: 16, expires: 5_000, idle_heartbeat: 500 });
  const stalls: number[] = [];
  const started = Date.now();
  const probe = startConsumerProbe({ bus, subject, ...opts, onStall: () => stalls.push(Date.now() - started) });
  void (async () => {
    for await (const m of messages) {
      probe.seen();
      m.ack();
    }
  })();
  return { messages, probe, stalls };
}

/** Waits (3 s at most) for the probe's first stall, then stops it; ms from `since` to the stall. */
async function firstStallAfter(since: number, probe: { stop(): void }, stalls: number[]): Promise<number> {
  while (stalls.length === 0 && Date.now() - since < 3_000) await sleep(20);
  probe.stop();
  assert.equal(stalls.length, 1, 'the stall is seen');
  return Date.now() - since;
}

test('a consumer that stops delivering is declared stalled within its window', async () => {
  const { messages, probe, stalls } = await probedConsumer('stops', { everyMs: 100, staleMs: 400 });
  await sleep(800);
  assert.deepEqual(stalls, [], 'no stall while it delivers');
  const stoppedAt = Date.now();
  messages.stop();
  const ms = await firstStallAfter(stoppedAt, probe, stalls);
  assert.ok(ms < 400 + 100 + 300, `declared ${ms} ms after delivery stopped`);
});

test('an event loop that was busy for several windows is not a stalled consumer', async () => {
  const { messages, probe, stalls } = await probedConsumer('busy', { everyMs: 100, staleMs: 400 });
  await sleep(500);
  for (let i = 0; i < 3; i++) {
    // 1.2 s of CPU work on this thread: three stale windows without reading the socket.
    const until = performance.now() + 1_200;
    while (performance.now() < until);
    await sleep(150);
  }
  await sleep(800);
  probe.stop();
  messages.stop();
  assert.deepEqual(stalls, [], 'no rebuild of a consumer that kept delivering');
});

test('right after a rebuild a silent consumer is declared stalled within verifyMs, not the whole window', async () => {
  const { messages, probe, stalls } = await probedConsumer('rebuilt', { everyMs: 100, staleMs: 2_000, verifyMs: 300 });
  await sleep(500);
  messages.stop(); // silent from now on, like a consumer rebuilt while its leader is being elected
  await sleep(1_000);
  assert.deepEqual(stalls, [], 'within the normal window: no stall yet');
  const rebuiltAt = Date.now();
  probe.rebuilt();
  const ms = await firstStallAfter(rebuiltAt, probe, stalls);
  assert.ok(ms < 300 + 100 + 300, `declared ${ms} ms after the rebuild (window 2,000 ms, verify 300 ms)`);
});
