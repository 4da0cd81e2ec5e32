// The VAD processor's batching against the real Silero engine and a real nats-server: frames of
// many sessions that arrive within the batch window go through ONE inference, every message is
// acked exactly once, and a session's frames stay in order (one frame per session per round).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Bus } from '../../lib/nats/bus.ts';
import { startTestBus, type TestBus } from '../../test/support/bus.ts';
import { buildHeaders, encodeJson } from '../../lib/nats/publish.ts';
import { ensureTopology, type Buckets } from '../../lib/nats/topology.ts';
import { createRootLogger } from '../../lib/logger.ts';
import { SessionStore } from '../../lib/session-store.ts';
import { whiteNoise } from '../../test/support/speech.ts';
import { DEFAULT_SERVER_VAD, HEADER, readAudioHeaders, type InputControl } from '../../schemas/index.ts';
import { createSileroEngine, type VadEngine } from './silero-engine.ts';
import { VadProcessor, type AudioMessage } from './processor.ts';

const log = createRootLogger({ level: 'warn' });
let testBus: TestBus;
let bus: Bus;
let buckets: Buckets;
let silero: VadEngine;

before(async () => {
  testBus = await startTestBus({ prefix: 'vp', partitions: 4, log });
  bus = testBus.bus;
  buckets = await ensureTopology(bus, { replicas: 1, audioMaxAgeMs: 60_000, outboxMaxAgeMs: 60_000, conversationMaxAgeMs: 600_000, jobMaxDeliver: 3, sessionTtlMs: 60_000, leaseTtlMs: 6_000, heartbeatTtlMs: 30_000, ephemeralKeyTtlMs: 60_000 });
  silero = await createSileroEngine({ maxBatch: 128 });
});
after(async () => {
  await silero?.close();
  await testBus?.stop();
});

/** The real engine, with every batch size it is asked for recorded. */
function recording(engine: VadEngine, sizes: number[]): VadEngine {
  return { ...engine, inferBatch: (items) => (sizes.push(items.length), engine.inferBatch(items)), close: async () => undefined };
}

let streamSeq = 0;
function message(session: string, seq: number, kind: 'audio' | 'control', data: Uint8Array, offset: number, acks: Map<string, number>): AudioMessage {
  const id = `${session}:${seq}`;
  return {
    streamSeq: ++streamSeq,
    subject: bus.cat.subjects.audio(0, session),
    meta: readAudioHeaders(buildHeaders(kind, { [HEADER.gateway]: 'gw', [HEADER.seq]: String(seq), [HEADER.offset]: String(offset), [HEADER.sentAt]: String(Date.now()) })),
    data,
    ack: () => acks.set(id, (acks.get(id) ?? 0) + 1),
    term: () => assert.fail(`${id} terminated`),
  };
}

const config: InputControl = { op: 'config', tenantId: 't', transcription: null, turnDetection: { ...DEFAULT_SERVER_VAD } };
// Quiet room noise: above the silence floor, so every frame goes through Silero (and is no speech).
const QUIET_40MS = whiteNoise(40, -50);
const options = { log, maxBufferMs: 10_000, maxUtteranceMs: 60_000, silenceFloorDbfs: -60 };

test('frames that arrive within the batch window share one inference; every message acked once', async () => {
  const sizes: number[] = [];
  const acks = new Map<string, number>();
  const processor = new VadProcessor({ bus, engine: recording(silero, sizes), ...options, sessions: new SessionStore(buckets.sessions), batchWindowMs: 200, batchAboveBusy: 0 });
  const wave = (from: number) =>
    Array.from({ length: 10 }, (_, i) => `s${from + i}`).forEach((s) => {
      processor.enqueue(message(s, 0, 'control', encodeJson(config), 0, acks));
      processor.enqueue(message(s, 1, 'audio', QUIET_40MS, 0, acks));
    });
  wave(0); // nothing ran for a window: inference starts at once
  await new Promise((r) => setTimeout(r, 5));
  wave(10); // these two waves wait for the window, then go together
  await new Promise((r) => setTimeout(r, 10));
  wave(20);
  await processor.idle();
  processor.close();
  // 40 ms at 24 kHz is one 32 ms Silero frame per session (the rest waits for the next append).
  assert.deepEqual(sizes, [10, 20]);
  assert.equal(acks.size, 60);
  assert.ok([...acks.values()].every((n) => n === 1), 'each message acked exactly once');
});

test('a lightly loaded worker does not wait for the window: each arrival is inferred at once', async () => {
  const sizes: number[] = [];
  const acks = new Map<string, number>();
  // Inference here is a few ms a second, far below the 20% at which batching starts.
  const processor = new VadProcessor({ bus, engine: recording(silero, sizes), ...options, sessions: new SessionStore(buckets.sessions), batchWindowMs: 200, batchAboveBusy: 0.2 });
  for (const wave of [0, 10, 20]) {
    Array.from({ length: 10 }, (_, i) => `l${wave + i}`).forEach((s) => {
      processor.enqueue(message(s, 0, 'control', encodeJson(config), 0, acks));
      processor.enqueue(message(s, 1, 'audio', QUIET_40MS, 0, acks));
    });
    await new Promise((r) => setTimeout(r, 30));
  }
  await processor.idle();
  processor.close();
  assert.deepEqual(sizes, [10, 10, 10]);
  assert.equal(acks.size, 60);
});

test('a session with several frames queued gives one per round, in order', async () => {
  const sizes: number[] = [];
  const acks = new Map<string, number>();
  const processor = new VadProcessor({ bus, engine: recording(silero, sizes), ...options, sessions: new SessionStore(buckets.sessions), batchWindowMs: 0, batchAboveBusy: 0 });
  processor.enqueue(message('solo', 0, 'control', encodeJson(config), 0, acks));
  processor.enqueue(message('solo', 1, 'audio', whiteNoise(200, -50), 0, acks)); // 200 ms: six frames
  await processor.idle();
  processor.close();
  assert.deepEqual(sizes, [1, 1, 1, 1, 1, 1]);
  assert.equal(acks.get('solo:1'), 1, 'the message is acked once its last frame is done');
});

test('frames below the silence floor are decided without inference, in order, and every message is acked', async () => {
  const sizes: number[] = [];
  const acks = new Map<string, number>();
  const processor = new VadProcessor({ bus, engine: recording(silero, sizes), ...options, sessions: new SessionStore(buckets.sessions), batchWindowMs: 0, batchAboveBusy: 0 });
  const silent = new Uint8Array(24 * 40 * 2);
  for (let i = 0; i < 10; i++) {
    processor.enqueue(message(`q${i}`, 0, 'control', encodeJson(config), 0, acks));
    processor.enqueue(message(`q${i}`, 1, 'audio', silent, 0, acks));
  }
  // One session goes from digital silence to quiet noise: only the noise frames are inferred.
  processor.enqueue(message('mixed', 0, 'control', encodeJson(config), 0, acks));
  processor.enqueue(message('mixed', 1, 'audio', new Uint8Array(24 * 200 * 2), 0, acks));
  processor.enqueue(message('mixed', 2, 'audio', whiteNoise(200, -50), 24 * 200, acks));
  await processor.idle();
  processor.close();
  // 400 ms = 12 whole frames at 16 kHz: 6 silent, then 6 holding noise (the 7th straddles the edge).
  assert.deepEqual(sizes, [1, 1, 1, 1, 1, 1]);
  assert.equal(acks.size, 23);
  assert.ok([...acks.values()].every((n) => n === 1), 'each message acked exactly once');
});

test('a frame stored twice (a publish retried after a lost PubAck) is taken once; both copies are acked', async () => {
  const sizes: number[] = [];
  const acks = new Map<string, number>();
  const processor = new VadProcessor({ bus, engine: recording(silero, sizes), ...options, sessions: new SessionStore(buckets.sessions), batchWindowMs: 0, batchAboveBusy: 0 });
  const first = whiteNoise(200, -50);
  processor.enqueue(message('dup', 0, 'control', encodeJson(config), 0, acks));
  processor.enqueue(message('dup', 1, 'audio', first, 0, acks));
  processor.enqueue(message('dup', 1, 'audio', first, 0, acks)); // the gateway does not set Nats-Msg-Id: Parley-Seq is the key
  processor.enqueue(message('dup', 2, 'audio', whiteNoise(200, -50), 24 * 200, acks));
  await processor.idle();
  processor.close();
  // 400 ms of distinct audio is 12 whole frames at 16 kHz; the copy added none.
  assert.equal(sizes.reduce((a, b) => a + b, 0), 12);
  assert.equal(acks.get('dup:1'), 2);
  assert.equal(acks.get('dup:2'), 1);
});

test('an audio message without Parley-Seq or Parley-Offset is dropped (terminated), not read as 0', async () => {
  const sizes: number[] = [];
  const acks = new Map<string, number>();
  const terminated: string[] = [];
  const processor = new VadProcessor({ bus, engine: recording(silero, sizes), ...options, sessions: new SessionStore(buckets.sessions), batchWindowMs: 0, batchAboveBusy: 0 });
  const missing = (what: string, pairs: Record<string, string>): AudioMessage => ({
    streamSeq: ++streamSeq,
    subject: bus.cat.subjects.audio(0, 'nohdr'),
    meta: readAudioHeaders(buildHeaders('audio', { [HEADER.gateway]: 'gw', ...pairs })),
    data: whiteNoise(200, -50),
    ack: () => assert.fail(`${what} acked`),
    term: () => terminated.push(what),
  });
  processor.enqueue(message('nohdr', 0, 'control', encodeJson(config), 0, acks));
  processor.enqueue(missing('no seq', { [HEADER.offset]: '0' }));
  processor.enqueue(missing('no offset', { [HEADER.seq]: '1' }));
  processor.enqueue(message('nohdr', 2, 'audio', whiteNoise(200, -50), 0, acks));
  await processor.idle();
  processor.close();
  assert.deepEqual(terminated, ['no seq', 'no offset']);
  assert.equal(sizes.reduce((a, b) => a + b, 0), 6, 'only the well-formed 200 ms reached Silero');
  assert.equal(acks.get('nohdr:2'), 1);
});
