// [containers] One spoken turn end to end against NATS (one node, JetStream) and PostgreSQL running
// in containers of their own (testcontainers), driven by the official `openai` SDK Realtime client
// over wss:// — the GA assertions of test/integration/spoken-turn.test.ts. Without Docker the same
// test runs on spawned binaries and its name says so.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backendLabel, resolveBackend } from './support/backend.ts';
import { startNats, type NatsDeployment } from './support/nats.ts';
import { conversationRows, startPostgres, type PostgresDeployment } from './support/postgres.ts';
import { startParleyInProcess, type InProcessParley } from './support/parley.ts';
import { assertPersistedExactlyOnce, openSession, speakTurn } from './support/turns.ts';
import { synthesizeSpeech } from '../support/speech.ts';

const backend = await resolveBackend();
const SCHEMA = 'parley_spoken';
let nats: NatsDeployment | undefined;
let pg: PostgresDeployment | undefined;
let parley: InProcessParley | undefined;
let speech: Uint8Array;

before(async () => {
  [nats, pg, speech] = await Promise.all([startNats(backend, { nodes: 1 }), startPostgres(backend), synthesizeSpeech('Hello, what is the weather like today in Paris?')]);
  parley = await startParleyInProcess({ natsUrls: nats.urls, db: { url: pg.url, schema: SCHEMA } });
});
after(async () => {
  await parley?.stop();
  await Promise.allSettled([nats?.stop(), pg?.close()]);
});

describe(`a spoken turn through containerised NATS JetStream and PostgreSQL ${backendLabel(backend)}`, () => {
  it('GA interface: the whole event sequence in order, then both items in PostgreSQL exactly once', { timeout: 120_000 }, async () => {
    const session = await openSession(parley!);
    const c = session.client;
    const turn = await speakTurn(session, speech);
    const indexOf = (type: string, pred: (e: Record<string, unknown>) => boolean = () => true) => c.events.findIndex((e) => e.event.type === type && pred(e.event));
    const isItem = (id: string) => (e: Record<string, unknown>) => (e['item'] as { id: string }).id === id;

    const started = await c.waitFor('input_audio_buffer.speech_started');
    const stopped = await c.waitFor('input_audio_buffer.speech_stopped');
    assert.equal(started['item_id'], turn.userItemId);
    assert.equal(stopped['item_id'], turn.userItemId);
    assert.equal(typeof started['audio_start_ms'], 'number');
    assert.ok((stopped['audio_end_ms'] as number) > (started['audio_start_ms'] as number));
    assert.ok(turn.transcript.trim().length > 0, 'user transcript is not empty');
    assert.match(turn.answer, /^You said: /);
    const done = (await c.waitFor('response.done'))['response'] as { output: Array<{ content: Array<{ type: string }> }>; usage: { total_tokens: number } };
    assert.equal(done.output[0]!.content[0]!.type, 'output_audio');
    assert.ok(done.usage.total_tokens > 0);

    const order = [
      indexOf('input_audio_buffer.speech_started'),
      indexOf('input_audio_buffer.speech_stopped'),
      indexOf('input_audio_buffer.committed'),
      indexOf('conversation.item.added', isItem(turn.userItemId)),
      indexOf('conversation.item.done', isItem(turn.userItemId)),
      indexOf('response.created'),
      indexOf('response.output_item.added'),
      indexOf('response.content_part.added'),
      indexOf('response.output_audio_transcript.delta'),
      indexOf('response.output_audio.done'),
      indexOf('response.output_audio_transcript.done'),
      indexOf('response.content_part.done'),
      indexOf('response.output_item.done'),
      indexOf('response.done'),
    ];
    assert.ok(order.every((i) => i >= 0), `every event present: ${c.types().join(', ')}`);
    assert.deepEqual([...order].sort((a, b) => a - b), order, `events in order: ${c.types().join(', ')}`);
    const firstAudio = indexOf('response.output_audio.delta');
    assert.ok(firstAudio > indexOf('response.content_part.added') && firstAudio < indexOf('response.output_audio.done'));
    await c.waitFor('rate_limits.updated');
    const ids = c.events.map((e) => e.event['event_id']);
    assert.equal(new Set(ids).size, ids.length, 'every server event has a unique event_id');

    await assertPersistedExactlyOnce({ url: pg!.url, schema: SCHEMA }, [session], 10_000);
    const rows = await conversationRows(pg!.url, SCHEMA, [session.id]);
    const user = rows.find((r) => r.item_id === turn.userItemId)!;
    const assistant = rows.find((r) => r.item_id === turn.assistantItemId)!;
    assert.equal(user.role, 'user');
    assert.equal(user.transcript, turn.transcript);
    assert.equal(assistant.role, 'assistant');
    assert.match(assistant.transcript ?? '', /^You said: /);
    assert.ok(rows.every((r) => r.tenant_id === 'tenant-a'));
    await c.close();
  });
});
