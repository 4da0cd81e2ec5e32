// [integration] One spoken turn end to end, through a real nats-server (JetStream) and a real
// PostgreSQL, driven by the official `openai` SDK Realtime client over wss:// — GA and beta.
// The speech is synthesized with espeak-ng and streamed at real-time pace in 40 ms chunks.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { startTestPlatform, TEST_KEY, type TestPlatform } from '../support/platform.ts';
import { connectRealtime, type RealtimeTestClient } from '../support/realtime-client.ts';
import { silence, synthesizeSpeech } from '../support/speech.ts';

let platform: TestPlatform;
let speech: Uint8Array;

before(async () => {
  platform = await startTestPlatform();
  speech = await synthesizeSpeech('Hello, what is the weather like today in Paris?');
});
after(async () => {
  await platform?.stop();
});

function indexOf(c: RealtimeTestClient, type: string, pred: (e: Record<string, unknown>) => boolean = () => true): number {
  return c.events.findIndex((e) => e.event.type === type && pred(e.event));
}

async function rowsFor(itemIds: string[]): Promise<Array<{ item_id: string; role: string; transcript: string | null; session_id: string; tenant_id: string }>> {
  const client = new pg.Client({ connectionString: platform.db.url });
  await client.connect();
  try {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const r = await client.query(`select item_id, role, transcript, session_id, tenant_id from "${platform.db.schema}".conversation_items where item_id = any($1)`, [itemIds]);
      const complete = r.rows.length === itemIds.length && r.rows.every((row) => row.transcript);
      if (complete || Date.now() > deadline) return r.rows;
      await new Promise((res) => setTimeout(res, 100));
    }
  } finally {
    await client.end();
  }
}

async function speakOneTurn(c: RealtimeTestClient): Promise<void> {
  await c.streamAudio(speech, { chunkMs: 40 });
  await c.streamAudio(silence(1_000), { chunkMs: 40 });
  await c.waitFor('response.done', () => true, 30_000);
}

describe('a spoken turn through NATS JetStream', () => {
  it('GA interface: the whole event sequence, then both items in PostgreSQL', async () => {
    const c = await connectRealtime({ baseURL: platform.wssBase, apiKey: TEST_KEY, certFile: platform.certFile });
    await c.waitFor('session.created');
    c.send({ type: 'session.update', session: { type: 'realtime', audio: { input: { transcription: { model: 'whisper-1' }, turn_detection: { type: 'server_vad', silence_duration_ms: 500 } } } } });
    await c.waitFor('session.updated');
    await speakOneTurn(c);

    const started = await c.waitFor('input_audio_buffer.speech_started');
    const stopped = await c.waitFor('input_audio_buffer.speech_stopped');
    const committed = await c.waitFor('input_audio_buffer.committed');
    const userItemId = committed['item_id'] as string;
    assert.equal(started['item_id'], userItemId);
    assert.equal(stopped['item_id'], userItemId);
    assert.equal(typeof started['audio_start_ms'], 'number');
    assert.ok((stopped['audio_end_ms'] as number) > (started['audio_start_ms'] as number));
    const transcript = await c.waitFor('conversation.item.input_audio_transcription.completed', (e) => e['item_id'] === userItemId);
    assert.ok((transcript['transcript'] as string).trim().length > 0, 'user transcript is not empty');

    const done = (await c.waitFor('response.done'))['response'] as { status: string; output: Array<{ id: string; content: Array<{ type: string; transcript: string }> }>; usage: { total_tokens: number } };
    assert.equal(done.status, 'completed');
    assert.equal(done.output[0]!.content[0]!.type, 'output_audio');
    assert.match(done.output[0]!.content[0]!.transcript, /^You said: /);
    assert.ok(done.usage.total_tokens > 0);
    const assistantItemId = done.output[0]!.id;

    // Order of the turn, as OpenAI sends it.
    const order = [
      indexOf(c, 'input_audio_buffer.speech_started'),
      indexOf(c, 'input_audio_buffer.speech_stopped'),
      indexOf(c, 'input_audio_buffer.committed'),
      indexOf(c, 'conversation.item.added', (e) => (e['item'] as { id: string }).id === userItemId),
      indexOf(c, 'conversation.item.done', (e) => (e['item'] as { id: string }).id === userItemId),
      indexOf(c, 'response.created'),
      indexOf(c, 'response.output_item.added'),
      indexOf(c, 'response.content_part.added'),
      indexOf(c, 'response.output_audio_transcript.delta'),
      indexOf(c, 'response.output_audio.done'),
      indexOf(c, 'response.output_audio_transcript.done'),
      indexOf(c, 'response.content_part.done'),
      indexOf(c, 'response.output_item.done'),
      indexOf(c, 'response.done'),
    ];
    assert.ok(order.every((i) => i >= 0), `every event present: ${c.types().join(', ')}`);
    assert.deepEqual([...order].sort((a, b) => a - b), order, `events in order: ${c.types().join(', ')}`);
    const firstAudio = indexOf(c, 'response.output_audio.delta');
    assert.ok(firstAudio > indexOf(c, 'response.content_part.added') && firstAudio < indexOf(c, 'response.output_audio.done'));
    assert.ok(c.events.filter((e) => e.event.type === 'response.output_audio.delta').length >= 1);
    await c.waitFor('rate_limits.updated');
    // Every server event carries a unique event_id.
    const ids = c.events.map((e) => e.event['event_id']);
    assert.equal(new Set(ids).size, ids.length);

    const rows = await rowsFor([userItemId, assistantItemId]);
    assert.equal(rows.length, 2, `both items persisted: ${JSON.stringify(rows)}`);
    const user = rows.find((r) => r.item_id === userItemId)!;
    const assistant = rows.find((r) => r.item_id === assistantItemId)!;
    assert.equal(user.role, 'user');
    assert.equal(user.transcript, transcript['transcript']);
    assert.equal(assistant.role, 'assistant');
    assert.match(assistant.transcript ?? '', /^You said: /);
    assert.equal(user.tenant_id, 'tenant-a');
    await c.close();
  });

  it('beta interface (OpenAI-Beta: realtime=v1): the same turn under beta names', async () => {
    const c = await connectRealtime({ baseURL: platform.wssBase, apiKey: TEST_KEY, certFile: platform.certFile, beta: true });
    const created = await c.waitFor('session.created');
    assert.deepEqual((created['session'] as { modalities: string[] }).modalities, ['text', 'audio']);
    c.send({ type: 'session.update', session: { input_audio_transcription: { model: 'whisper-1' } } });
    await c.waitFor('session.updated');
    await speakOneTurn(c);

    const committed = await c.waitFor('input_audio_buffer.committed');
    const userItemId = committed['item_id'] as string;
    const userItem = await c.waitFor('conversation.item.created', (e) => (e['item'] as { id: string }).id === userItemId);
    assert.equal((userItem['item'] as { role: string }).role, 'user');
    const transcript = await c.waitFor('conversation.item.input_audio_transcription.completed');
    assert.ok((transcript['transcript'] as string).trim().length > 0);
    const done = (await c.waitFor('response.done'))['response'] as { status: string; modalities: string[]; output: Array<{ id: string; content: Array<{ type: string }> }> };
    assert.equal(done.status, 'completed');
    assert.deepEqual(done.modalities, ['text', 'audio']);
    assert.equal(done.output[0]!.content[0]!.type, 'audio', 'beta content type');
    const types = c.types();
    for (const t of ['input_audio_buffer.speech_started', 'input_audio_buffer.speech_stopped', 'response.created', 'response.audio.delta', 'response.audio_transcript.delta', 'response.audio.done', 'response.audio_transcript.done']) {
      assert.ok(types.includes(t), `${t} present`);
    }
    for (const t of ['conversation.item.added', 'conversation.item.done', 'response.output_audio.delta']) assert.ok(!types.includes(t), `${t} absent in beta`);
    const rows = await rowsFor([userItemId, done.output[0]!.id]);
    assert.equal(rows.length, 2);
    await c.close();
  });
});
