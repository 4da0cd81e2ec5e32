// [integration] Two VAD worker processes share the audio partitions through KV leases. The owner
// of a speaking session's partition is killed with SIGKILL in the middle of an utterance; the other
// takes the partition over within 10 s, replays from the checkpoint, and the turn completes with
// every frame of the utterance intact (the committed audio equals what the client sent).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { startNatsServer, type NatsServerHandle } from '../../ops/nats-server.ts';
import { partitionOf } from '../../subjects/index.ts';
import { startTestPlatform, TEST_KEY, type TestPlatform } from '../support/platform.ts';
import { startRole, type RoleProcess } from '../support/processes.ts';
import { connectRealtime } from '../support/realtime-client.ts';
import { silence, synthesizeSpeech } from '../support/speech.ts';

let nats: NatsServerHandle;
let natsDir: string;
let platform: TestPlatform;
let nc: NatsConnection;
const workers: RoleProcess[] = [];

before(async () => {
  natsDir = await mkdtemp(path.join(os.tmpdir(), 'parley-nats-'));
  nats = await startNatsServer({ storeDir: natsDir });
  platform = await startTestPlatform({ natsUrl: nats.url, roles: ['persist', 'stt', 'llm', 'tts', 'gateway'] });
  for (const name of ['vad-a', 'vad-b']) {
    const w = await startRole(name, ['stage', 'vad'], { NATS_URL: nats.url, PARLEY_API_KEYS: `${TEST_KEY}:tenant-a` });
    await w.waitFor(/vad stage started/);
    workers.push(w);
  }
  nc = await connect({ servers: nats.url });
});

after(async () => {
  await nc?.close();
  await Promise.all(workers.map((w) => w.kill('SIGKILL')));
  await platform?.stop();
  await nats?.stop();
  await rm(natsDir, { recursive: true, force: true });
});

async function leaseHolder(partition: number): Promise<string | null> {
  const kv = await new Kvm(jetstream(nc)).open('parley_leases');
  const e = await kv.get(`vad.${partition}`);
  return e?.operation === 'PUT' ? e.string() : null;
}

test('a VAD worker killed mid-utterance: its partitions move within 10 s and no frame is lost', { timeout: 90_000 }, async (t) => {
  // Both workers hold a share of the 16 partitions.
  const deadline = Date.now() + 15_000;
  for (;;) {
    const holders = await Promise.all(Array.from({ length: 16 }, (_, p) => leaseHolder(p)));
    if (holders.includes('vad-a') && holders.includes('vad-b') && holders.every(Boolean)) break;
    assert.ok(Date.now() < deadline, `partitions not shared: ${holders.join(',')}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  const c = await connectRealtime({ baseURL: platform.wssBase, apiKey: TEST_KEY, certFile: platform.certFile });
  const created = await c.waitFor('session.created');
  const sid = (created['session'] as { id: string }).id;
  const partition = partitionOf(sid, 16);
  const ownerName = await leaseHolder(partition);
  const owner = workers.find((w) => w.name === ownerName)!;
  const survivor = workers.find((w) => w !== owner)!;
  c.send({ type: 'session.update', session: { type: 'realtime', audio: { input: { transcription: { model: 'whisper-1' } } } } });
  await c.waitFor('session.updated');

  const speech = await synthesizeSpeech('I would like to book a table for four people tomorrow evening at eight, near the window please.');
  const lead = silence(400);
  let mark = 0;
  const killAt = lead.length + Math.floor(speech.length / 3 / 2) * 2; // a third into the utterance
  const streaming = (async () => {
    await c.streamAudio(lead, { chunkMs: 40 });
    await c.streamAudio(speech.subarray(0, killAt - lead.length), { chunkMs: 40 });
    mark = survivor.output().length;
    await owner.kill('SIGKILL');
    const killedAt = performance.now();
    await c.streamAudio(speech.subarray(killAt - lead.length), { chunkMs: 40 });
    await c.streamAudio(silence(1_500), { chunkMs: 40 });
    return killedAt;
  })();
  const killedAt = await streaming;

  // The survivor takes the partition over within 10 s.
  const acquired = await survivor.waitFor(new RegExp(`"partition":${partition},"takenOver":true[^\\n]*vad partition acquired`), 15_000, mark);
  // The survivor rebuilt the session from the checkpoint (it did not wait for redelivery).
  const replayed = Number(/"replayed":(\d+)/.exec(acquired)?.[1] ?? 0);
  assert.ok(replayed > 0, `replayed ${replayed} messages from the checkpoint`);
  const takeoverMs = performance.now() - killedAt;
  t.diagnostic(`partition ${partition} taken over ${takeoverMs.toFixed(0)} ms after the kill`);
  assert.ok(takeoverMs < 10_000, `takeover after ${takeoverMs.toFixed(0)} ms`);
  assert.equal(await leaseHolder(partition), survivor.name);

  const committed = await c.waitFor('input_audio_buffer.committed', () => true, 20_000);
  const done = await c.waitFor('response.done', () => true, 20_000);
  assert.equal((done['response'] as { status: string }).status, 'completed');
  const transcript = await c.waitFor('conversation.item.input_audio_transcription.completed');
  assert.ok((transcript['transcript'] as string).length > 0);

  // The committed audio is exactly what the client sent for that range: nothing lost or doubled.
  const itemId = committed['item_id'] as string;
  c.send({ type: 'conversation.item.retrieve', item_id: itemId });
  const retrieved = await c.waitFor('conversation.item.retrieved');
  const audioB64 = ((retrieved['item'] as { content: Array<{ audio?: string }> }).content[0]!.audio ?? '') as string;
  const audio = Buffer.from(audioB64, 'base64');
  const started = await c.waitFor('input_audio_buffer.speech_started', (e) => e['item_id'] === itemId);
  const sent = Buffer.concat([lead, speech, silence(1_500)]);
  const from = Math.round(((started['audio_start_ms'] as number) * 24_000) / 1000) * 2;
  assert.ok(audio.length > speech.length * 0.8, `committed ${audio.length} bytes of a ${speech.length}-byte utterance`);
  const found = sent.indexOf(audio.subarray(0, 4800));
  assert.ok(sent.subarray(from, from + audio.length).equals(audio), `committed audio matches the sent audio byte for byte (expected at byte ${from}, head found at ${found}, ${audio.length} bytes, events ${c.types().filter((t) => t.startsWith('input_audio')).join(',')})`);
  const speechStarts = c.events.filter((e) => e.event.type === 'input_audio_buffer.speech_started').length;
  assert.ok(speechStarts <= 2, `speech_started ${speechStarts} times`);
  await c.close();
});
