// AudioIngest against a real nats-server: what reaches the audio stream is exactly the audio
// appended, in order, with contiguous sample offsets — whether appends are coalesced into frames,
// a backlog is split into 5 s frames while more audio arrives behind it, or an append is refused
// by its writer (bad base64) between good ones.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { DeliverPolicy } from '@nats-io/jetstream';
import { startTestBus, type TestBus } from '../test/support/bus.ts';
import { createRootLogger } from '../lib/logger.ts';
import { concatBytes } from '../lib/audio/index.ts';
import { HEADER } from '../schemas/index.ts';
import { AudioIngest } from './audio-ingest.ts';

let testBus: TestBus;
before(async () => {
  testBus = await startTestBus({ prefix: 'ingesttest' });
  await testBus.bus.jsm.streams.add({ name: testBus.bus.cat.streams.audio, subjects: [testBus.bus.cat.subjects.audioAll()] });
});
after(() => testBus?.stop());

const log = createRootLogger({ level: 'silent' });
let sessionNo = 0;

/** `ms` of PCM16 24 kHz whose every sample is distinct from its neighbours (a ramp from `from`). */
function audio(ms: number, from: number): Uint8Array {
  const pcm = Buffer.alloc(ms * 48);
  for (let i = 0; i < pcm.length / 2; i++) pcm.writeInt16LE(((from + i) % 65_536) - 32_768, i * 2);
  return pcm;
}

function ingestFor(sessionId: string): AudioIngest {
  const target = { sessionId, gatewayId: 'gw-test', partition: 0 };
  return new AudioIngest(testBus.bus, target, { frameMs: 40, maxQueuedMs: 60_000 }, log, (m) => assert.fail(m));
}

/** Every audio frame stored for the session, in stream order. */
async function storedFrames(sessionId: string, expectedBytes: number): Promise<Array<{ data: Uint8Array; offset: number }>> {
  const { bus } = testBus;
  const consumer = await bus.js.consumers.get(bus.cat.streams.audio, { filter_subjects: bus.cat.subjects.audio(0, sessionId), deliver_policy: DeliverPolicy.All });
  const frames: Array<{ data: Uint8Array; offset: number }> = [];
  let bytes = 0;
  const messages = await consumer.consume();
  for await (const m of messages) {
    if (m.headers?.get(HEADER.kind) !== 'audio') continue;
    frames.push({ data: m.data, offset: Number(m.headers.get(HEADER.offset)) });
    bytes += m.data.length;
    if (bytes >= expectedBytes) break;
  }
  messages.stop();
  return frames;
}

function assertContiguous(frames: Array<{ data: Uint8Array; offset: number }>): void {
  let next = 0;
  for (const f of frames) {
    assert.equal(f.offset, next, 'each frame starts where the one before ended');
    next += f.data.length / 2;
  }
}

test('20 ms appends are coalesced into 40 ms frames holding exactly the appended audio, in order', async () => {
  const sid = `sess_ingest${++sessionNo}`;
  const ingest = ingestFor(sid);
  const appended = Array.from({ length: 50 }, (_, i) => audio(20, i * 480));
  for (const chunk of appended) {
    ingest.append(chunk);
    await new Promise((r) => setTimeout(r, 2));
  }
  await ingest.close(false);
  const all = concatBytes(appended);
  const frames = await storedFrames(sid, all.length);
  assert.deepEqual(Buffer.from(concatBytes(frames.map((f) => f.data))), Buffer.from(all));
  assertContiguous(frames);
  assert.ok(frames.length < appended.length, `coalesced: ${frames.length} frames for ${appended.length} appends`);
});

test('a 12 s backlog goes out in frames of at most 5 s while more audio lands behind it; nothing is lost or reordered', async () => {
  const sid = `sess_ingest${++sessionNo}`;
  const ingest = ingestFor(sid);
  const backlog = audio(12_000, 0);
  ingest.append(backlog); // its first 5 s are in flight from here on
  const behind = Array.from({ length: 30 }, (_, i) => audio(20, 288_000 + i * 480));
  for (const chunk of behind) ingest.append(chunk);
  await ingest.close(false);
  const all = concatBytes([backlog, ...behind]);
  const frames = await storedFrames(sid, all.length);
  assert.deepEqual(Buffer.from(concatBytes(frames.map((f) => f.data))), Buffer.from(all));
  assertContiguous(frames);
  assert.ok(
    frames.every((f) => f.data.length <= 5 * 48_000),
    `frame sizes ${frames.map((f) => f.data.length / 48_000)} s`,
  );
});

test('an append its writer refuses adds nothing, and the audio around it stays whole', async () => {
  const sid = `sess_ingest${++sessionNo}`;
  const ingest = ingestFor(sid);
  const before = audio(20, 0);
  const afterward = audio(20, 480);
  ingest.append(before);
  assert.equal(
    ingest.appendWith(960, (tail) => (tail.fill(0x55), false)),
    false,
  );
  assert.equal(ingest.totalSamples, 480, 'the refused append is not on the timeline');
  ingest.append(afterward);
  await ingest.close(false);
  const frames = await storedFrames(sid, 1920);
  assert.deepEqual(Buffer.from(concatBytes(frames.map((f) => f.data))), Buffer.from(concatBytes([before, afterward])));
  assertContiguous(frames);
});
