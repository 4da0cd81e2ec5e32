// Committed utterances against a real nats-server with the real topology: a short one travels in
// its STT job as raw bytes after the JSON (and is stored in the utterance stream too, for
// item.retrieve); a long one is only in the stream and its job points there; a job whose audio
// does not match its sample count falls back to the stream. A short one's job goes out ahead of its
// stored copy (it is on the path to the transcript); a long one's only after every chunk is stored.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestBus, type TestBus } from '../../test/support/bus.ts';
import { validators, type SttJob } from '../../schemas/index.ts';
import type { Bus } from './bus.ts';
import { decodeJsonMessage } from './publish.ts';
import { ensureTopology } from './topology.ts';
import { INLINE_AUDIO_MAX_BYTES, readUtterance, storeUtterance, utteranceOf } from './utterances.ts';

let testBus: TestBus;
let bus: Bus;

before(async () => {
  testBus = await startTestBus({ prefix: 'utt' });
  bus = testBus.bus;
  await ensureTopology(bus, { replicas: 1, audioMaxAgeMs: 60_000, outboxMaxAgeMs: 60_000, conversationMaxAgeMs: 600_000, jobMaxDeliver: 3, sessionTtlMs: 60_000, leaseTtlMs: 6_000, heartbeatTtlMs: 30_000, ephemeralKeyTtlMs: 60_000 });
});
after(() => testBus?.stop());

const owner = (itemId: string) => ({ sessionId: 'sess_utt', gatewayId: 'gw_1', tenantId: 'tenant-a', itemId, transcription: null });
const speech = (bytes: number) => Uint8Array.from({ length: bytes }, (_, i) => (i * 7) % 251);

/** The STT job queued for an item and its attachment, read straight off the jobs stream. */
async function jobFor(itemId: string): Promise<{ job: SttJob; attachment: Uint8Array | undefined }> {
  const msg = await bus.jsm.streams.getMessage(bus.cat.streams.jobs, { last_by_subj: bus.cat.subjects.sttJob('sess_utt') });
  const { body: job, attachment } = decodeJsonMessage(msg!.data, msg!.header);
  assert.ok(validators.sttJob.check(job));
  assert.equal(job.itemId, itemId);
  return { job, attachment };
}

test('a short utterance rides in its STT job and is stored in the utterance stream as well', async () => {
  const audio = speech(96_000); // 2 s
  await storeUtterance(bus, owner('item_short'), audio);
  const { job, attachment } = await jobFor('item_short');
  assert.equal(job.chunks, 1);
  assert.deepEqual(attachment, audio);
  assert.deepEqual(await readUtterance(bus, 'sess_utt', 'item_short', 1), audio);
  // Taken from the job: it comes back whole even with the stream copy gone.
  await bus.jsm.streams.purge(bus.cat.streams.utterances, { filter: bus.cat.subjects.utteranceChunk('sess_utt', 'item_short', 0) });
  assert.deepEqual(new Uint8Array(await utteranceOf(bus, job, attachment)), audio);
});

test('a long utterance is stored in chunks; its job carries none of it and is answered from the stream', async () => {
  const audio = speech(INLINE_AUDIO_MAX_BYTES + 48_000);
  await storeUtterance(bus, owner('item_long'), audio);
  const { job, attachment } = await jobFor('item_long');
  assert.equal(attachment, undefined);
  assert.equal(job.chunks, 2);
  assert.deepEqual(new Uint8Array(await utteranceOf(bus, job, attachment)), audio);
});

test('a job whose audio does not match its sample count is answered from the stream', async () => {
  const audio = speech(9_600);
  await storeUtterance(bus, owner('item_cut'), audio);
  const { job, attachment } = await jobFor('item_cut');
  assert.deepEqual(new Uint8Array(await utteranceOf(bus, job, attachment!.subarray(0, 4_800))), audio);
});

test('a short utterance\'s job goes out before its stored copy; a long one\'s after every chunk', async (t) => {
  const seen: string[] = [];
  const sub = bus.nc.subscribe(`${bus.cat.prefix}.>`, { callback: (_err, m) => void seen.push(m.subject) });
  t.after(() => sub.unsubscribe());
  await bus.nc.flush();
  await storeUtterance(bus, owner('item_order_short'), speech(48_000));
  await storeUtterance(bus, owner('item_order_long'), speech(INLINE_AUDIO_MAX_BYTES + 1_000));
  await bus.nc.flush();
  const s = bus.cat.subjects;
  assert.deepEqual(seen, [
    s.sttJob('sess_utt'),
    s.utteranceChunk('sess_utt', 'item_order_short', 0),
    s.utteranceChunk('sess_utt', 'item_order_long', 0),
    s.utteranceChunk('sess_utt', 'item_order_long', 1),
    s.sttJob('sess_utt'),
  ]);
});
