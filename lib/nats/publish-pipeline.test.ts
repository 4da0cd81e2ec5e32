// PublishPipeline against a real nats-server with JetStream: publishes go out without waiting for
// each ack, never more than `depth` at once, land in call order, and a failure surfaces from the
// next add() or drain(); publishes retrying on one job signal at once do not trip Node's leak warning.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestBus, type TestBus } from '../../test/support/bus.ts';
import type { Bus } from './bus.ts';
import { TransportError } from '../errors.ts';
import { publishDurable } from './publish.ts';
import { PublishPipeline } from './publish-pipeline.ts';

let testBus: TestBus;
let bus: Bus;

before(async () => {
  testBus = await startTestBus({ prefix: 'pptest' });
  bus = testBus.bus;
  await bus.jsm.streams.add({ name: 'PPTEST', subjects: ['pptest.ok.>'] });
});
after(() => testBus?.stop());

test('200 publishes, at most 8 awaiting acks at once, all stored in call order', async () => {
  const pipeline = new PublishPipeline({ depth: 8 });
  let most = 0;
  for (let i = 0; i < 200; i++) {
    await pipeline.add(publishDurable(bus, 'pptest.ok.order', new TextEncoder().encode(String(i)), { msgId: `order-${i}` }));
    most = Math.max(most, pipeline.inFlight);
  }
  assert.ok(most <= 8 && most >= 2, `at most ${most} in flight`);
  await pipeline.drain();
  assert.equal(pipeline.inFlight, 0);
  const stored: number[] = [];
  const consumer = await bus.js.consumers.get('PPTEST', { filter_subjects: 'pptest.ok.order' });
  for await (const m of await consumer.fetch({ max_messages: 200, expires: 2_000 })) stored.push(Number(m.string()));
  assert.deepEqual(stored, Array.from({ length: 200 }, (_, i) => i));
});

test('a failed publish is thrown by the next add() and by drain(); the publishes before it are stored', async () => {
  const pipeline = new PublishPipeline({ depth: 4 });
  await pipeline.add(publishDurable(bus, 'pptest.ok.fail', new Uint8Array([1])));
  await pipeline.add(publishDurable(bus, 'pptest.nostream', new Uint8Array([2]), { retryForMs: 200 }));
  await assert.rejects(pipeline.drain(), TransportError);
  await assert.rejects(pipeline.add(publishDurable(bus, 'pptest.ok.fail', new Uint8Array([3]))), TransportError);
  const info = await bus.jsm.streams.info('PPTEST', { subjects_filter: 'pptest.ok.fail' });
  assert.ok(info.state.subjects?.['pptest.ok.fail'] !== undefined && info.state.subjects['pptest.ok.fail'] >= 1);
});

test('publishes retrying at once on one job signal (no stream to store them) fail as a whole without a listener-leak warning', async (t) => {
  const warnings: Error[] = [];
  const onWarning = (w: Error) => void warnings.push(w);
  process.on('warning', onWarning);
  t.after(() => process.off('warning', onWarning));
  const signal = new AbortController().signal;
  const pipeline = new PublishPipeline({ signal });
  for (let i = 0; i < 20; i++) await pipeline.add(publishDurable(bus, `pptest.nostream.${i}`, new Uint8Array(1), { signal, retryForMs: 400 }));
  await assert.rejects(pipeline.drain(), TransportError);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map((w) => w.message), []);
});
