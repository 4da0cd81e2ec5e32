// [integration] Bad input on the socket and at the handshake: each gets an OpenAI-shaped `error`
// (with the offending client event_id and `param`), the session carries on, and other sessions
// and the process are unaffected. Raw `ws` clients, so we can send what SDKs never would.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { startTestPlatform, TEST_KEY, type TestPlatform } from '../support/platform.ts';

let platform: TestPlatform;

before(async () => {
  platform = await startTestPlatform({ env: { PARLEY_MAX_MESSAGE_BYTES: String(1024 * 1024) } });
});
after(async () => {
  await platform?.stop();
});

interface RawClient {
  ws: WebSocket;
  events: Array<Record<string, unknown>>;
  next(type: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  closed: Promise<{ code: number; reason: string }>;
}

function open(query: string, opts: { key?: string | null; protocols?: string[]; headers?: Record<string, string> } = {}): Promise<RawClient> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.key !== null) headers['Authorization'] = `Bearer ${opts.key ?? TEST_KEY}`;
  const ws = new WebSocket(`${platform.wsBase}/realtime${query}`, opts.protocols ?? [], { headers });
  const events: Array<Record<string, unknown>> = [];
  let cursor = 0;
  const waiters: Array<() => void> = [];
  ws.on('message', (d) => {
    events.push(JSON.parse(d.toString()) as Record<string, unknown>);
    waiters.splice(0).forEach((w) => w());
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  const client: RawClient = {
    ws,
    events,
    closed,
    async next(type, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const i = events.findIndex((e, idx) => idx >= cursor && e['type'] === type);
        if (i >= 0) {
          cursor = i + 1;
          return events[i]!;
        }
        if (Date.now() > deadline) throw new Error(`no ${type}; got ${events.map((e) => e['type']).join(', ')}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 100);
        });
      }
    },
  };
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(client));
    ws.once('error', reject);
  });
}

type ErrorEvent = { type: string; event_id: string; error: { type: string; code: string | null; message: string; param: string | null; event_id: string | null } };

describe('bad input gets a clear error and the session carries on', () => {
  it('answers each malformed client event with an error event', async () => {
    const c = await open('?model=gpt-realtime');
    await c.next('session.created');
    const cases: Array<{ send: string | Buffer; code: string; param?: string | null; clientEventId?: string | null }> = [
      { send: 'this is not json', code: 'invalid_json', clientEventId: null },
      { send: JSON.stringify([1, 2, 3]), code: 'invalid_event' },
      { send: JSON.stringify({ event_id: 'e-notype' }), code: 'invalid_event', param: 'type', clientEventId: 'e-notype' },
      { send: JSON.stringify({ type: 'no.such.event', event_id: 'e1' }), code: 'invalid_value', param: 'type', clientEventId: 'e1' },
      { send: JSON.stringify({ type: 'input_audio_buffer.append', audio: '###not base64###', event_id: 'e2' }), code: 'invalid_value', param: 'audio', clientEventId: 'e2' },
      { send: JSON.stringify({ type: 'input_audio_buffer.append', event_id: 'e3' }), code: 'missing_required_parameter', param: 'audio', clientEventId: 'e3' },
      { send: JSON.stringify({ type: 'input_audio_buffer.append', audio: 42, event_id: 'e3b' }), code: 'invalid_type', param: 'audio', clientEventId: 'e3b' },
      { send: JSON.stringify({ type: 'input_audio_buffer.append', audio: 'AAAA', event_id: 'e3c' }), code: 'invalid_value', param: 'audio', clientEventId: 'e3c' },
      { send: JSON.stringify({ type: 'conversation.item.create', event_id: 'e4' }), code: 'missing_required_parameter', param: 'item', clientEventId: 'e4' },
      { send: JSON.stringify({ type: 'session.update', event_id: 'e5', session: { type: 'realtime', bogus_field: 1 } }), code: 'unknown_parameter', param: 'session.bogus_field', clientEventId: 'e5' },
      { send: JSON.stringify({ type: 'session.update', event_id: 'e6', session: { instructions: 'x' } }), code: 'missing_required_parameter', param: 'session.type', clientEventId: 'e6' },
      { send: JSON.stringify({ type: 'session.update', event_id: 'e7', session: { type: 'realtime', audio: { input: { format: { type: 'audio/pcm', rate: 16000 } } } } }), code: 'integer_below_min_value', param: 'session.audio.input.format.rate', clientEventId: 'e7' },
      { send: JSON.stringify({ type: 'response.cancel', event_id: 'e8' }), code: 'response_cancel_not_active', clientEventId: 'e8' },
      { send: JSON.stringify({ type: 'input_audio_buffer.commit', event_id: 'e9' }), code: 'input_audio_buffer_commit_empty', clientEventId: 'e9' },
      { send: JSON.stringify({ type: 'conversation.item.delete', item_id: 'item_missing', event_id: 'e10' }), code: 'item_not_found', param: 'item_id', clientEventId: 'e10' },
      { send: Buffer.from([1, 2, 3]), code: 'invalid_event', clientEventId: null },
    ];
    for (const k of cases) {
      c.ws.send(k.send, { binary: Buffer.isBuffer(k.send) });
      const err = (await c.next('error')) as unknown as ErrorEvent;
      assert.equal(err.error.code, k.code, `for ${String(k.send).slice(0, 80)}: ${err.error.message}`);
      assert.ok(err.error.message.length > 0);
      assert.ok(['invalid_request_error', 'server_error'].includes(err.error.type));
      assert.ok(err.event_id.startsWith('event_'));
      if (k.param !== undefined) assert.equal(err.error.param, k.param, `param for ${k.code}`);
      if (k.clientEventId !== undefined) assert.equal(err.error.event_id, k.clientEventId);
    }
    // A rejected session.update changed nothing; a good one still works.
    c.ws.send(JSON.stringify({ type: 'session.update', session: { type: 'realtime', instructions: 'Be brief.' } }));
    const updated = await c.next('session.updated');
    assert.equal((updated['session'] as { instructions: string }).instructions, 'Be brief.');
    assert.deepEqual((updated['session'] as { audio: { input: { format: unknown } } }).audio.input.format, { type: 'audio/pcm', rate: 24000 });
    // And the session still answers a turn.
    c.ws.send(JSON.stringify({ type: 'session.update', session: { type: 'realtime', output_modalities: ['text'] } }));
    c.ws.send(JSON.stringify({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'still here?' }] } }));
    c.ws.send(JSON.stringify({ type: 'response.create' }));
    const done = await c.next('response.done', 10_000);
    assert.equal((done['response'] as { status: string }).status, 'completed');
    c.ws.close();
  });

  it('closes only the connection that sends an oversized frame; other sessions carry on', async () => {
    const bystander = await open('?model=gpt-realtime');
    await bystander.next('session.created');
    const offender = await open('?model=gpt-realtime');
    await offender.next('session.created');
    offender.ws.send(JSON.stringify({ type: 'input_audio_buffer.append', audio: 'A'.repeat(2 * 1024 * 1024) }));
    // uWS drops a connection whose frame exceeds maxPayloadLength at once (no close frame: 1006).
    const { code } = await offender.closed;
    assert.ok([1006, 1009].includes(code), `closed for a too-big message, code ${code}`);
    bystander.ws.send(JSON.stringify({ type: 'session.update', session: { type: 'realtime', output_modalities: ['text'] } }));
    bystander.ws.send(JSON.stringify({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hello' }] } }));
    bystander.ws.send(JSON.stringify({ type: 'response.create' }));
    const done = await bystander.next('response.done', 10_000);
    assert.equal((done['response'] as { status: string }).status, 'completed');
    const health = await fetch(`${platform.httpBase}/ready`);
    assert.equal(health.status, 200);
    bystander.ws.close();
  });

  it('refuses bad credentials and bad requests the way OpenAI does: error event, then close 3000 / 4000', async () => {
    const cases = [
      { query: '?model=gpt-realtime', key: null, code: null, close: 3000 },
      { query: '?model=gpt-realtime', key: 'sk-wrong-key-123456', code: 'invalid_api_key', close: 3000 },
      { query: '', key: TEST_KEY, code: 'missing_model', close: 4000 },
      { query: '?intent=bogus', key: TEST_KEY, code: 'invalid_intent', close: 4000 },
    ];
    for (const k of cases) {
      const c = await open(k.query, { key: k.key });
      const err = (await c.next('error')) as unknown as ErrorEvent;
      assert.equal(err.error.code, k.code);
      const closed = await c.closed;
      assert.equal(closed.code, k.close);
      assert.ok(!c.events.some((e) => e['type'] === 'session.created'), 'no session for a refused client');
    }
  });

  it('accepts the key in the openai-insecure-api-key subprotocol and answers with `realtime`', async () => {
    const c = await open('?model=gpt-realtime', { key: null, protocols: ['realtime', `openai-insecure-api-key.${TEST_KEY}`, 'openai-beta.realtime-v1'] });
    assert.equal(c.ws.protocol, 'realtime');
    const created = await c.next('session.created');
    // The beta subprotocol selects the beta shape (flat session).
    assert.ok('modalities' in (created['session'] as object));
    c.ws.close();
  });
});
