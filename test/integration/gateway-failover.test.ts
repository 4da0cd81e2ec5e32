// [integration] Two gateway processes in front of one set of stages. A client's gateway is killed
// with SIGKILL mid-session; the client reconnects to the other gateway with its session id and
// continues: the same session, its config and conversation restored (within 500 ms), and a spoken
// turn works afterwards (the audio timeline continues). A gateway stopped with SIGTERM tells its
// clients how to resume and drains. An abandoned session's heartbeat lapses and it is closed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import pg from 'pg';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { startNatsServer, type NatsServerHandle } from '../../ops/nats-server.ts';
import { createCatalogue } from '../../subjects/index.ts';
import { loadConfig } from '../../lib/config.ts';
import { startTestPlatform, TEST_KEY, type TestPlatform } from '../support/platform.ts';
import { startRole, type RoleProcess } from '../support/processes.ts';
import { silence, synthesizeSpeech } from '../support/speech.ts';

let nats: NatsServerHandle;
let natsDir: string;
let stages: TestPlatform;
const gateways: RoleProcess[] = [];

async function startGateway(name: string): Promise<{ proc: RoleProcess; port: number }> {
  const proc = await startRole(name, ['gateway'], {
    NATS_URL: nats.url,
    PARLEY_API_KEYS: `${TEST_KEY}:tenant-a`,
    PARLEY_DRAIN_MS: '5000',
  });
  const line = await proc.waitFor(/"port":\d+[^\n]*gateway listening/);
  gateways.push(proc);
  return { proc, port: Number(/"port":(\d+)/.exec(line)![1]) };
}

before(async () => {
  natsDir = await mkdtemp(path.join(os.tmpdir(), 'parley-nats-'));
  nats = await startNatsServer({ storeDir: natsDir });
  stages = await startTestPlatform({ natsUrl: nats.url, roles: ['persist', 'vad', 'stt', 'llm', 'tts'] });
});
after(async () => {
  await Promise.all(gateways.map((g) => g.kill('SIGKILL')));
  await stages?.stop();
  await nats?.stop();
  await rm(natsDir, { recursive: true, force: true });
});

/** On a miss: what the conversation log holds for the session, and where the persist consumer is. */
async function conversationLogState(sid: string): Promise<string> {
  const nc = await connect({ servers: nats.url });
  try {
    // The roles run with this process's environment, so their catalogue is the one it configures.
    const { prefix, partitions } = loadConfig(process.env).nats;
    const cat = createCatalogue({ prefix, partitions });
    const jsm = await jetstreamManager(nc);
    const persist = await jsm.consumers.info(cat.streams.conversation, cat.consumers.persist);
    const dlq = await jsm.streams.info(cat.streams.deadLetters);
    const log = await jetstream(nc).consumers.get(cat.streams.conversation, { filter_subjects: cat.subjects.conversation(sid) });
    const records: string[] = [];
    for await (const m of await log.fetch({ max_messages: 200, expires: 2_000 })) {
      const r = m.json<{ kind: string; item?: { id: string }; itemId?: string; version?: number }>();
      records.push(`#${m.seq} ${r.kind} ${r.item?.id ?? r.itemId ?? ''} v${r.version ?? ''}`);
      if (m.info.pending === 0) break;
    }
    return `persist consumer: pending ${persist.num_pending}, ack pending ${persist.num_ack_pending}, redelivered ${persist.num_redelivered}; dead letters ${dlq.state.messages}\nconversation log: ${records.join('; ')}`;
  } finally {
    await nc.close();
  }
}

interface Client {
  ws: WebSocket;
  events: Array<Record<string, unknown>>;
  next(type: string, pred?: (e: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  closed: Promise<number>;
  send(e: unknown): void;
}

function open(port: number, query = '?model=gpt-realtime'): Promise<Client> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/realtime${query}`, { headers: { Authorization: `Bearer ${TEST_KEY}` } });
  const events: Array<Record<string, unknown>> = [];
  ws.on('message', (d) => events.push(JSON.parse(d.toString()) as Record<string, unknown>));
  const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
  ws.on('error', () => undefined);
  const client: Client = {
    ws,
    events,
    closed,
    send: (e) => ws.send(JSON.stringify(e)),
    async next(type, pred = () => true, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const e = events.find((x) => x['type'] === type && pred(x));
        if (e) return e;
        if (Date.now() > deadline) throw new Error(`no ${type}; got ${events.map((x) => x['type']).join(', ')}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(client));
    ws.once('error', reject);
  });
}

async function streamSpeech(c: Client, pcm: Uint8Array): Promise<void> {
  const chunk = 24 * 40 * 2;
  const start = performance.now();
  for (let at = 0; at < pcm.length; at += chunk) {
    c.send({ type: 'input_audio_buffer.append', audio: Buffer.from(pcm.subarray(at, at + chunk)).toString('base64') });
    const wait = start + ((at + chunk) / 48_000) * 1000 - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
}

test('a gateway killed mid-session: the client resumes on the other gateway with its session id', { timeout: 120_000 }, async (t) => {
  const a = await startGateway('gw-a');
  const b = await startGateway('gw-b');
  const c1 = await open(a.port);
  const sid = ((await c1.next('session.created'))['session'] as { id: string }).id;
  c1.send({ type: 'session.update', session: { type: 'realtime', instructions: 'Remember me.', audio: { input: { transcription: { model: 'whisper-1' } } } } });
  await c1.next('session.updated');
  c1.send({ type: 'conversation.item.create', item: { id: 'item_first', type: 'message', role: 'user', content: [{ type: 'input_text', text: 'My name is Ada.' }] } });
  c1.send({ type: 'response.create', response: { output_modalities: ['text'] } });
  await c1.next('response.done');
  // One spoken turn on gateway A, so the audio timeline has moved on.
  await streamSpeech(c1, Buffer.concat([await synthesizeSpeech('Hello there.'), silence(900)]));
  await c1.next('response.done', (e) => (e['response'] as { output: Array<{ content: Array<{ type: string }> }> }).output[0]?.content[0]?.type === 'output_audio', 20_000);
  // What gateway A announced is in PostgreSQL before it dies (its records are published without
  // waiting, so a kill a few ms after response.done could otherwise race them): four items.
  const db = new pg.Client({ connectionString: stages.db.url });
  await db.connect();
  t.after(() => db.end());
  const itemRows = async (atLeast: number) => {
    let rows: Array<{ item_id: string }> = [];
    for (let i = 0; i < 50; i++) {
      rows = (await db.query(`select item_id from "${stages.db.schema}".conversation_items where session_id = $1`, [sid])).rows;
      if (rows.length >= atLeast) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    return rows;
  };
  const rowsOnA = await itemRows(4);
  assert.equal(rowsOnA.length, 4, 'two turns on gateway A, two items each');
  await a.proc.kill('SIGKILL');
  await c1.closed;

  const restoreStarted = performance.now();
  const c2 = await open(b.port, `?model=gpt-realtime&session_id=${sid}`);
  const created = await c2.next('session.created');
  const restoreMs = performance.now() - restoreStarted;
  t.diagnostic(`session restored on the second gateway in ${restoreMs.toFixed(0)} ms`);
  assert.ok(restoreMs < 500, `restored in ${restoreMs.toFixed(0)} ms`);
  const session = created['session'] as { id: string; instructions: string; audio: { input: { transcription: unknown } } };
  assert.equal(session.id, sid);
  assert.equal(session.instructions, 'Remember me.');
  assert.ok(session.audio.input.transcription, 'transcription setting restored');

  // The conversation came with it.
  c2.send({ type: 'conversation.item.retrieve', item_id: 'item_first' });
  const item = (await c2.next('conversation.item.retrieved'))['item'] as { content: Array<{ text: string }> };
  assert.equal(item.content[0]!.text, 'My name is Ada.');

  // And it continues: a spoken turn on the new gateway, appended after the restored items.
  await streamSpeech(c2, Buffer.concat([await synthesizeSpeech('What is the time?'), silence(900)]));
  const committed = await c2.next('input_audio_buffer.committed', () => true, 20_000);
  assert.ok(committed['previous_item_id'], 'the new user item follows the restored conversation');
  const done = await c2.next('response.done', () => true, 20_000);
  assert.equal((done['response'] as { status: string }).status, 'completed');
  const started = await c2.next('input_audio_buffer.speech_started');
  assert.ok((started['audio_start_ms'] as number) > 1_000, `audio timeline continued (audio_start_ms ${String(started['audio_start_ms'])})`);
  c2.ws.close(1000);
  await c2.closed;

  // All items of both gateways are in PostgreSQL exactly once, and the session is closed.
  const rows = await itemRows(6);
  // On a miss, say which item is missing: gateway A's four, plus what gateway B announced.
  const announcedOnB = [...new Set(c2.events.filter((e) => e['type'] === 'conversation.item.added').map((e) => (e['item'] as { id: string }).id))];
  const missing = [...new Set([...rowsOnA.map((r) => r.item_id), ...announcedOnB])].filter((id) => !rows.some((r) => r.item_id === id));
  if (rows.length !== 6) {
    const complaintsOnB = b.proc.output().split('\n').filter((l) => /"level":"(warn|error|fatal)"/.test(l)).slice(-10).join('\n');
    const eventsOnB = c2.events.map((e) => e['type']).join(',');
    assert.fail(`three turns, two items each: ${rows.map((r) => r.item_id).join(',')}; added on B: ${announcedOnB.join(',')}; missing: ${missing.join(',')}\n` +
      `events on B: ${eventsOnB}\ngateway B warned: ${complaintsOnB || 'nothing'}\n${await conversationLogState(sid)}`);
  }
  assert.equal(new Set(rows.map((r) => r.item_id)).size, 6);
  await b.proc.kill('SIGTERM');
});

test('SIGTERM drains a gateway: clients are told how to resume, then closed with 1012', { timeout: 60_000 }, async () => {
  const g = await startGateway('gw-drain');
  const c = await open(g.port);
  const sid = ((await c.next('session.created'))['session'] as { id: string }).id;
  const exited = g.proc.kill('SIGTERM');
  const warning = (await c.next('error'))['error'] as { code: string; message: string };
  assert.equal(warning.code, 'server_shutting_down');
  assert.match(warning.message, new RegExp(`session_id=${sid}`));
  assert.equal(await c.closed, 1012);
  assert.equal(await exited, 0);
});

test('an abandoned session is closed when its 30 s heartbeat lapses', { timeout: 90_000 }, async (t) => {
  const janitor = await startGateway('gw-janitor');
  const doomed = await startGateway('gw-doomed');
  const c = await open(doomed.port);
  const sid = ((await c.next('session.created'))['session'] as { id: string }).id;
  c.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'bye' }] } });
  await c.next('conversation.item.added');
  await doomed.proc.kill('SIGKILL');
  const killedAt = Date.now();
  await c.closed;
  const db = new pg.Client({ connectionString: stages.db.url });
  await db.connect();
  try {
    let row: { closed_at: Date | null; close_reason: string | null } | undefined;
    while (Date.now() - killedAt < 70_000) {
      row = (await db.query(`select closed_at, close_reason from "${stages.db.schema}".sessions where session_id = $1`, [sid])).rows[0];
      if (row?.closed_at) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    t.diagnostic(`session closed ${((Date.now() - killedAt) / 1000).toFixed(1)} s after its gateway died`);
    assert.equal(row?.close_reason, 'heartbeat_expired');
  } finally {
    await db.end();
  }
  // It can no longer be resumed.
  const late = await open(janitor.port, `?model=gpt-realtime&session_id=${sid}`);
  const err = (await late.next('error'))['error'] as { code: string };
  assert.equal(err.code, 'session_not_found');
  assert.equal(await late.closed, 4000);
  await janitor.proc.kill('SIGTERM');
});
