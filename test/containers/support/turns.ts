// Spoken turns for the containers suite: a session opened with the official `openai` SDK client
// (test/support/realtime-client.ts), a turn of espeak-ng speech streamed at real-time pace and
// followed by a second of silence, and the check that every item a client saw reached PostgreSQL
// exactly once. A session may take many turns: each waits only for events that arrive after it began.
import assert from 'node:assert/strict';
import { connectRealtime, type RealtimeTestClient } from '../../support/realtime-client.ts';
import { silence } from '../../support/speech.ts';
import { TEST_KEY, type GatewayEndpoint } from './parley.ts';
import { conversationRows } from './pg-client.ts';

export interface Session {
  readonly id: string;
  readonly client: RealtimeTestClient;
  readonly turns: TurnRecord[];
}

export interface TurnRecord {
  readonly userItemId: string;
  readonly assistantItemId: string;
  readonly transcript: string;
  readonly answer: string;
  /** performance.now() when the turn's first audio was sent, when its speech was (a second of silence follows), and when response.done arrived. */
  readonly startedAt: number;
  readonly speechEndAt: number;
  readonly doneAt: number;
}

export async function openSession(gw: GatewayEndpoint): Promise<Session> {
  const client = await connectRealtime({ baseURL: gw.wssBase, apiKey: TEST_KEY, certFile: gw.certFile });
  const created = await client.waitFor('session.created');
  client.send({ type: 'session.update', session: { type: 'realtime', audio: { input: { transcription: { model: 'whisper-1' }, turn_detection: { type: 'server_vad', silence_duration_ms: 500 } } } } });
  await client.waitFor('session.updated');
  return { id: (created['session'] as { id: string }).id, client, turns: [] };
}

/** Speaks `speech`, waits for the response, and records the turn's items. */
export async function speakTurn(s: Session, speech: Uint8Array, timeoutMs = 60_000): Promise<TurnRecord> {
  const c = s.client;
  const before = new Set(c.events.map((e) => e.event['event_id']));
  const fresh = (e: Record<string, unknown>) => !before.has(e['event_id']);
  const startedAt = performance.now();
  const speechEndAt = await c.streamAudio(speech, { chunkMs: 40 });
  await c.streamAudio(silence(1_000), { chunkMs: 40 });
  const done = await c.waitFor('response.done', fresh, timeoutMs);
  const doneAt = c.events.find((e) => e.event === done)?.at ?? performance.now();
  const response = done['response'] as { status: string; output: Array<{ id: string; content: Array<{ transcript?: string }> }> };
  assert.equal(response.status, 'completed', `session ${s.id}: response ${JSON.stringify(response).slice(0, 300)}`);
  const committed = await c.waitFor('input_audio_buffer.committed', fresh, 5_000);
  const userItemId = committed['item_id'] as string;
  const transcribed = await c.waitFor('conversation.item.input_audio_transcription.completed', (e) => fresh(e) && e['item_id'] === userItemId, timeoutMs);
  const turn: TurnRecord = {
    userItemId,
    assistantItemId: response.output[0]!.id,
    transcript: transcribed['transcript'] as string,
    answer: response.output[0]!.content[0]?.transcript ?? '',
    startedAt,
    speechEndAt,
    doneAt,
  };
  s.turns.push(turn);
  return turn;
}

/** The event types a session received since `since` (performance.now()), for failure messages. */
export function eventsSince(s: Session, since = 0): string {
  return s.client.events
    .filter((e) => e.at >= since)
    .map((e) => e.event.type)
    .join(', ');
}

/**
 * Waits until PostgreSQL holds exactly the items the clients saw — per session, one row per user and
 * assistant item of every turn, nothing else, transcripts filled in — and returns how long it took.
 */
export async function assertPersistedExactlyOnce(db: { url: string; schema: string }, sessions: readonly Session[], timeoutMs = 20_000): Promise<number> {
  const started = performance.now();
  const ids = sessions.map((s) => s.id);
  let problems: string[] = [];
  for (;;) {
    const rows = await conversationRows(db.url, db.schema, ids).catch(() => undefined);
    problems = rows ? differences(sessions, rows) : ['database unreachable'];
    if (!problems.length) return performance.now() - started;
    if (performance.now() - started > timeoutMs) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.fail(`conversation_items after ${timeoutMs} ms does not match what the clients saw:\n${problems.slice(0, 20).join('\n')}`);
}

function differences(sessions: readonly Session[], rows: Awaited<ReturnType<typeof conversationRows>>): string[] {
  const problems: string[] = [];
  for (const s of sessions) {
    const mine = rows.filter((r) => r.session_id === s.id);
    const expected = new Map(s.turns.flatMap((t) => [[t.userItemId, 'user'] as const, [t.assistantItemId, 'assistant'] as const]));
    const positions = new Set(mine.map((r) => r.position));
    if (mine.length !== expected.size) problems.push(`${s.id}: ${mine.length} rows, expected ${expected.size} (${mine.map((r) => `${r.role}:${r.item_id}`).join(' ')})`);
    if (positions.size !== mine.length) problems.push(`${s.id}: duplicate positions`);
    for (const r of mine) {
      if (expected.get(r.item_id) !== r.role) problems.push(`${s.id}: unexpected row ${r.role}:${r.item_id}`);
      else if (!r.transcript) problems.push(`${s.id}: ${r.item_id} has no transcript yet`);
    }
    for (const [id, role] of expected) if (!mine.some((r) => r.item_id === id)) problems.push(`${s.id}: ${role} item ${id} missing`);
  }
  return problems;
}
