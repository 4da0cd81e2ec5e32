// publishDurable against a real nats-server with JetStream: transient failures are retried until the
// deadline and then surface as a TransportError naming the cause; a cancel, before or during the
// retries, surfaces at once as a CancelledError (a job stage acks cancelled work, but would
// dead-letter a transport failure and tell the client its response failed).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestBus, type TestBus } from '../../test/support/bus.ts';
import type { Bus } from './bus.ts';
import { CancelledError, TransportError } from '../errors.ts';
import { headers as natsHeaders } from '@nats-io/nats-core';
import { HEADER } from '../../schemas/index.ts';
import { decodeJsonMessage, decodeJsonOrUndefined, encodeJson, publishDurable, publishJson } from './publish.ts';

let testBus: TestBus;
let bus: Bus;

before(async () => {
  testBus = await startTestBus({ prefix: 'pubtest' });
  bus = testBus.bus;
  await bus.jsm.streams.add({ name: 'PUBTEST', subjects: ['pubtest.ok.>'] });
});
after(() => testBus?.stop());

const payload = new Uint8Array([1, 2, 3]);

test('a publish to a stream is acked; one nobody stores is retried until the deadline, then fails with the cause', async () => {
  const ack = await publishDurable(bus, 'pubtest.ok.a', payload, { msgId: 'a-1' });
  assert.equal(ack.stream, 'PUBTEST');
  const started = performance.now();
  const err = await publishDurable(bus, 'pubtest.nostream.a', payload, { retryForMs: 600 }).then(() => undefined, (e: unknown) => e);
  const took = performance.now() - started;
  assert.ok(err instanceof TransportError, String(err));
  assert.match(err.message, /failed for 600 ms: no JetStream response for pubtest.nostream.a/);
  assert.ok(took >= 300 && took < 2_000, `gave up after ${took.toFixed(0)} ms`);
});

test('an already-cancelled publish throws CancelledError without publishing', async () => {
  const before = (await bus.jsm.streams.info('PUBTEST')).state.messages;
  const err = await publishDurable(bus, 'pubtest.ok.b', payload, { signal: AbortSignal.abort() }).then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof CancelledError, String(err));
  assert.equal((await bus.jsm.streams.info('PUBTEST')).state.messages, before);
});

test('a cancel during the retries ends them at once with CancelledError', async () => {
  const cancel = new AbortController();
  const started = performance.now();
  const pending = publishDurable(bus, 'pubtest.nostream.c', payload, { retryForMs: 20_000, signal: cancel.signal }).then(() => undefined, (e: unknown) => e);
  setTimeout(() => cancel.abort(), 400);
  const err = await pending;
  const took = performance.now() - started;
  assert.ok(err instanceof CancelledError, String(err));
  assert.ok(took < 1_000, `stopped ${took.toFixed(0)} ms after the start (cancel at 400 ms)`);
});

test('a JSON body with an attachment: stored as the JSON then the raw bytes, read back whole; a bad offset is refused', async () => {
  const audio = Uint8Array.from({ length: 4_801 }, (_, i) => (i * 31) % 256);
  const body = { text: 'naïve – 日本' }; // the offset counts bytes, not characters
  await publishJson(bus, 'pubtest.ok.attached', body, { attachment: audio });
  const stored = await bus.jsm.streams.getMessage('PUBTEST', { last_by_subj: 'pubtest.ok.attached' });
  assert.equal(stored!.header.get(HEADER.attachment), String(Buffer.byteLength(JSON.stringify(body))));
  const read = decodeJsonMessage(stored!.data, stored!.header);
  assert.deepEqual(read.body, body);
  assert.deepEqual(read.attachment, audio);

  await publishJson(bus, 'pubtest.ok.plain', body);
  const plain = await bus.jsm.streams.getMessage('PUBTEST', { last_by_subj: 'pubtest.ok.plain' });
  assert.deepEqual(decodeJsonMessage(plain!.data, plain!.header), { body });

  for (const bad of ['-1', 'x', '1.5', String(stored!.data.length + 1)]) {
    const h = natsHeaders();
    h.set(HEADER.attachment, bad);
    assert.throws(() => decodeJsonMessage(stored!.data, h), new RegExp(`Parley-Attachment ${bad.replace('.', '\\.')} is outside`));
  }
});

test('decodeJsonOrUndefined: the value of JSON bytes, undefined for anything else', () => {
  assert.deepEqual(decodeJsonOrUndefined(encodeJson({ op: 'config' })), { op: 'config' });
  assert.equal(decodeJsonOrUndefined(encodeJson(null)), null);
  assert.equal(decodeJsonOrUndefined(new TextEncoder().encode('{"op":')), undefined);
  assert.equal(decodeJsonOrUndefined(new Uint8Array([0xff, 0xfe])), undefined);
});
