// [conformance] The /v1/realtime handshake as OpenAI's clients perform it (raw `ws` and the official
// SDK classes), refusals (error event, then close 3000 / 4000), keepalive pings, the session limit,
// and the REST endpoints that mint ephemeral `ek_` keys (through the official SDK's REST resources).
// Pings every 1 s of idleness and a 12 s session limit keep the slow checks short.
import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startTestPlatform, TEST_KEY, type TestPlatform } from '../support/platform.ts';
import { connectRaw, connectSdk, type Conn } from './support/clients.ts';
import { Conformance } from './support/recorder.ts';

const SESSION_MAX_MS = 12_000;
const rec = new Conformance('handshake');
let platform: TestPlatform;
let rest: OpenAI;
let idle: Conn;
let idleOpenedAt = 0;
let shortSecret: { value: string; expires_at: number };
let shortSessions: Conn[];

const ERROR_KEYS = ['code', 'event_id', 'message', 'param', 'type'];
const EXPIRED_KEY_TEST = 'an expired ek_ key is refused with invalid_api_key / 3000';
const OUTLIVES_TEST = 'a session opened with an ek_ key outlives the key';
before(async () => {
  platform = await startTestPlatform({ env: { PARLEY_PING_INTERVAL_MS: '1000', PARLEY_SESSION_MAX_MS: String(SESSION_MAX_MS) } });
  rest = new OpenAI({ apiKey: TEST_KEY, baseURL: `${platform.httpBase}/v1` });
  // Slow checks start now and are asserted by the last tests: an idle connection (pings, then
  // session_expired) and a 10 s client secret with a session opened on it.
  idleOpenedAt = performance.now();
  idle = await connectRaw(platform, rec.scope('keepalive pings on an idle connection, then session_expired at the session limit'));
  shortSecret = await rest.realtime.clientSecrets.create({ expires_after: { anchor: 'created_at', seconds: 10 }, session: { type: 'realtime', instructions: 'Short-lived.' } });
  const scope = rec.scope(OUTLIVES_TEST);
  shortSessions = await Promise.all([1, 2, 3, 4].map(() => connectRaw(platform, scope, { key: shortSecret.value })));
});
after(async () => {
  await platform?.stop();
});

async function refusal(c: Conn): Promise<{ err: Record<string, unknown>; close: { code: number; reason: string } }> {
  const close = await c.closed;
  assert.equal(c.events.length, 1, `exactly one event before the close: ${c.types().join(', ')}`);
  const ev = c.events[0]!.ev;
  assert.equal(ev.type, 'error');
  assert.deepEqual(Object.keys(ev['error']).sort(), ERROR_KEYS);
  assert.equal(ev['error'].type, 'invalid_request_error');
  assert.equal(ev['error'].event_id, null);
  assert.ok(ev['error'].message.length > 0);
  return { err: ev['error'], close };
}

describe('handshake', () => {
  rec.test('Authorization: Bearer without subprotocols: 101, then session.created (GA) with the ?model= model', async (s) => {
    const c = await connectRaw(platform, s, { query: '?model=gpt-realtime-mini' });
    const created = await c.waitFor('session.created');
    assert.equal(c.events[0]!.ev.type, 'session.created', 'session.created is the first frame');
    assert.equal(c.protocol, '');
    const session = created['session'];
    assert.equal(session.type, 'realtime');
    assert.equal(session.object, 'realtime.session');
    assert.equal(session.model, 'gpt-realtime-mini');
    assert.match(session.id, /^sess_/);
    const expected = (Date.now() + SESSION_MAX_MS) / 1000;
    assert.ok(Math.abs(session.expires_at - expected) <= 2, `expires_at ${session.expires_at} is start + the session limit (${expected})`);
    await c.close();
  });

  rec.test('events sent right after the socket opens, before session.created, are kept and applied in order', async (s) => {
    // With a static key and with an ek_ key (looked up in KV): the session is resolved after the
    // upgrade, and a client that does not wait for session.created must lose nothing.
    const secret = await rest.realtime.clientSecrets.create({ session: { type: 'realtime' } });
    for (const key of [TEST_KEY, secret.value]) {
      const c = await connectRaw(platform, s, { key });
      c.send({ type: 'session.update', session: { type: 'realtime', instructions: 'first' } });
      c.send({ type: 'session.update', session: { type: 'realtime', instructions: 'second' } });
      c.send({ type: 'input_audio_buffer.clear' });
      await c.waitFor('input_audio_buffer.cleared');
      assert.deepEqual(c.types(), ['session.created', 'session.updated', 'session.updated', 'input_audio_buffer.cleared']);
      assert.deepEqual(c.all('session.updated').map((e) => e['session'].instructions), ['first', 'second']);
      await c.close();
    }
  });

  rec.test('the official SDK classes connect over wss://: GA, beta and intent=transcription', async (s) => {
    const ga = await connectSdk(platform, s);
    assert.equal((await ga.waitFor('session.created'))['session'].type, 'realtime');
    const beta = await connectSdk(platform, s, { beta: true });
    const betaSession = (await beta.waitFor('session.created'))['session'];
    assert.deepEqual(betaSession.modalities, ['text', 'audio']);
    assert.ok(!('type' in betaSession) && !('audio' in betaSession), 'beta session is flat');
    const tr = await connectSdk(platform, s, { intent: 'transcription' });
    const trSession = (await tr.waitFor('session.created'))['session'];
    assert.equal(trSession.type, 'transcription');
    assert.equal(trSession.object, 'realtime.transcription_session');
    assert.ok(!('model' in trSession) && !('output_modalities' in trSession), 'a transcription session has no model or output');
    await Promise.all([ga.close(), beta.close(), tr.close()]);
  });

  rec.test('key in the openai-insecure-api-key.* subprotocol; `realtime` echoed whenever offered; other entries ignored', async (s) => {
    const offers: Array<{ protocols: string[]; key: string | null }> = [
      { protocols: ['realtime', `openai-insecure-api-key.${TEST_KEY}`], key: null },
      { protocols: ['realtime', `openai-insecure-api-key.${TEST_KEY}`, 'openai-organization.org-1', 'openai-project.proj_1'], key: null },
      { protocols: ['realtime', `openai-insecure-api-key.${TEST_KEY}`, 'openai-agents-sdk.0.20.0'], key: null },
      { protocols: ['realtime'], key: TEST_KEY },
    ];
    for (const o of offers) {
      const c = await connectRaw(platform, s, { protocols: o.protocols, key: o.key });
      assert.equal(c.protocol, 'realtime', `selected for ${o.protocols.join(',')}`);
      assert.equal((await c.waitFor('session.created'))['session'].type, 'realtime');
      await c.close();
    }
  });

  rec.test('beta is chosen by OpenAI-Beta: realtime=v1 or the openai-beta.realtime-v1 subprotocol, GA otherwise', async (s) => {
    const byHeader = await connectRaw(platform, s, { headers: { 'OpenAI-Beta': 'realtime=v1' } });
    const bySubprotocol = await connectRaw(platform, s, { key: null, protocols: ['realtime', `openai-insecure-api-key.${TEST_KEY}`, 'openai-beta.realtime-v1'] });
    for (const c of [byHeader, bySubprotocol]) {
      const session = (await c.waitFor('session.created'))['session'];
      assert.equal(session.object, 'realtime.session');
      assert.deepEqual(session.modalities, ['text', 'audio']);
      assert.equal(session.input_audio_format, 'pcm16');
      await c.close();
    }
    // Other OpenAI-Beta values (the SDK's REST calls send assistants=v2) leave the socket GA.
    const other = await connectRaw(platform, s, { headers: { 'OpenAI-Beta': 'assistants=v2' } });
    assert.equal((await other.waitFor('session.created'))['session'].type, 'realtime');
    await other.close();
  });

  rec.test('?intent=transcription: GA session.created (type transcription); beta transcription_session.created', async (s) => {
    const ga = await connectRaw(platform, s, { query: '?intent=transcription' });
    const session = (await ga.waitFor('session.created'))['session'];
    assert.deepEqual(Object.keys(session).sort(), ['audio', 'expires_at', 'id', 'include', 'object', 'type']);
    assert.deepEqual(Object.keys(session.audio.input).sort(), ['format', 'noise_reduction', 'transcription', 'turn_detection']);
    assert.ok(!('create_response' in session.audio.input.turn_detection), 'no conversation-only VAD fields');
    const beta = await connectRaw(platform, s, { query: '?intent=transcription', headers: { 'OpenAI-Beta': 'realtime=v1' } });
    const created = await beta.waitFor('transcription_session.created');
    assert.equal(created['session'].object, 'realtime.transcription_session');
    assert.ok('input_audio_transcription' in created['session']);
    await Promise.all([ga.close(), beta.close()]);
  });

  rec.test('refusals: an error event, then close 3000 (auth) or 4000 (request shape) with reason <type>.<code>', async (s) => {
    const cases = [
      { query: '?model=gpt-realtime', key: null, code: null, close: 3000 },
      { query: '?model=gpt-realtime', key: 'sk-not-a-key-123456', code: 'invalid_api_key', close: 3000 },
      { query: '?model=gpt-realtime', key: 'ek_not_minted_here_123', code: 'invalid_api_key', close: 3000 },
      { query: '', key: TEST_KEY, code: 'missing_model', close: 4000 },
      { query: '?model=', key: TEST_KEY, code: 'invalid_model', close: 4000 },
      { query: '?model=bad%20model%21', key: TEST_KEY, code: 'invalid_model', close: 4000 },
    ];
    for (const k of cases) {
      const c = await connectRaw(platform, s, { query: k.query, key: k.key });
      const { err, close } = await refusal(c);
      assert.equal(err['code'], k.code, `code for ${k.query} / ${k.key}`);
      assert.equal(close.code, k.close, `close code for ${String(k.code)}`);
      if (k.code) assert.equal(close.reason, `invalid_request_error.${k.code}`);
    }
    // Refusals with the key in the subprotocol still answer the subprotocol (else the client fails first).
    const viaProtocol = await connectRaw(platform, s, { key: null, protocols: ['realtime', 'openai-insecure-api-key.sk-wrong-999999'] });
    assert.equal(viaProtocol.protocol, 'realtime');
    assert.equal((await refusal(viaProtocol)).close.code, 3000);
  });

  rec.test('bad frames get an error and the socket stays open: binary (invalid_event), not JSON (invalid_json), unknown or WebRTC-only type, event_id over 512', async (s) => {
    const c = await connectRaw(platform, s);
    await c.waitFor('session.created');
    let from = c.mark();
    c.sendRaw(Buffer.from([1, 2, 3]));
    assert.equal((await c.waitFor('error', () => true, { from }))['error'].code, 'invalid_event');
    from = c.mark();
    c.sendRaw('{not json');
    const bad = await c.waitFor('error', () => true, { from });
    assert.equal(bad['error'].code, 'invalid_json');
    assert.equal(bad['error'].event_id, null);
    const unknown = await c.expectError({ type: 'bogus.event_type' });
    assert.equal(unknown['error'].code, 'invalid_value');
    assert.equal(unknown['error'].param, 'type');
    // output_audio_buffer.clear exists only over WebRTC / SIP.
    assert.equal((await c.expectError({ type: 'output_audio_buffer.clear' }))['error'].param, 'type');
    from = c.mark();
    c.send({ type: 'input_audio_buffer.clear', event_id: 'e'.repeat(600) });
    assert.equal((await c.waitFor('error', () => true, { from }))['error'].param, 'event_id', 'client event_id is at most 512 characters');
    from = c.mark();
    c.send({ type: 'session.update', session: { type: 'realtime', instructions: 'still open' } });
    assert.equal((await c.waitFor('session.updated', () => true, { from }))['session'].instructions, 'still open');
    await c.close();
  });

});

describe('REST: ephemeral client secrets', () => {
  rec.test('GA POST /v1/realtime/client_secrets (SDK): ek_ key, 10 min default TTL, full session; session.created on it carries the baked-in config', async (s) => {
    const secret = await rest.realtime.clientSecrets.create({ session: { type: 'realtime', instructions: 'Talk like a pirate.', audio: { output: { voice: 'marin' } }, output_modalities: ['text'] } });
    assert.match(secret.value, /^ek_/);
    const ttl = secret.expires_at - Date.now() / 1000;
    assert.ok(ttl > 590 && ttl <= 601, `default TTL ${ttl.toFixed(0)} s`);
    const session = secret.session as unknown as Record<string, any>;
    assert.equal(session.type, 'realtime');
    assert.equal(session.object, 'realtime.session');
    assert.equal(session.instructions, 'Talk like a pirate.');
    assert.equal(session.audio.output.voice, 'marin');
    assert.deepEqual(session.audio.input.format, { type: 'audio/pcm', rate: 24000 });
    const conns = [
      await connectRaw(platform, s, { key: secret.value }),
      await connectRaw(platform, s, { key: null, protocols: ['realtime', `openai-insecure-api-key.${secret.value}`] }),
      await connectSdk(platform, s, { apiKey: secret.value }),
    ];
    for (const c of conns) {
      const created = (await c.waitFor('session.created'))['session'];
      assert.equal(created.instructions, 'Talk like a pirate.');
      assert.equal(created.audio.output.voice, 'marin');
      assert.deepEqual(created.output_modalities, ['text']);
      await c.close();
    }
  });

  rec.test('GA client secret for a transcription session: response session is realtime.transcription_session; ?intent=transcription on it starts with that config', async (s) => {
    const secret = await rest.realtime.clientSecrets.create({ session: { type: 'transcription', audio: { input: { transcription: { model: 'gpt-4o-transcribe', language: 'de' } } } } });
    const session = secret.session as unknown as Record<string, any>;
    assert.equal(session.type, 'transcription');
    assert.equal(session.object, 'realtime.transcription_session');
    const c = await connectRaw(platform, s, { query: '?intent=transcription', key: secret.value });
    const created = (await c.waitFor('session.created'))['session'];
    assert.deepEqual(created.audio.input.transcription, { model: 'gpt-4o-transcribe', language: 'de', prompt: null });
    await c.close();
  });

  rec.test('beta POST /v1/realtime/sessions and /v1/realtime/transcription_sessions (SDK): session + client_secret{value: ek_…, expires_at}', async (s) => {
    const minted = (await rest.beta.realtime.sessions.create({ model: 'gpt-4o-realtime-preview', modalities: ['text'], instructions: 'Beta preset.', voice: 'verse' })) as unknown as Record<string, any>;
    assert.match(minted['client_secret'].value, /^ek_/);
    assert.ok(minted['client_secret'].expires_at > Date.now() / 1000);
    assert.equal(minted['object'], 'realtime.session');
    assert.deepEqual(minted['modalities'], ['text']);
    const c = await connectRaw(platform, s, { key: minted['client_secret'].value, headers: { 'OpenAI-Beta': 'realtime=v1' } });
    const session = (await c.waitFor('session.created'))['session'];
    assert.equal(session.instructions, 'Beta preset.');
    assert.equal(session.voice, 'verse');
    assert.deepEqual(session.modalities, ['text']);
    await c.close();

    const tr = (await rest.beta.realtime.transcriptionSessions.create({ input_audio_transcription: { model: 'whisper-1', language: 'en' } })) as unknown as Record<string, any>;
    assert.match(tr['client_secret'].value, /^ek_/);
    assert.equal(tr['object'], 'realtime.transcription_session');
    const t = await connectRaw(platform, s, { query: '?intent=transcription', key: tr['client_secret'].value, headers: { 'OpenAI-Beta': 'realtime=v1' } });
    const created = await t.waitFor('transcription_session.created');
    assert.equal(created['session'].input_audio_transcription.model, 'whisper-1');
    assert.equal(created['session'].input_audio_transcription.language, 'en');
    await t.close();
  });

  rec.test('a socket authenticated by an ek_ key stays usable (Bearer, subprotocol, SDK, beta)', async (s) => {
    const secret = await rest.realtime.clientSecrets.create({ session: { type: 'realtime', instructions: 'Usable?' } });
    const conns = [
      await connectRaw(platform, s, { key: secret.value }),
      await connectRaw(platform, s, { key: null, protocols: ['realtime', `openai-insecure-api-key.${secret.value}`] }),
      await connectSdk(platform, s, { apiKey: secret.value }),
      await connectRaw(platform, s, { key: secret.value, headers: { 'OpenAI-Beta': 'realtime=v1' } }),
    ];
    for (const c of conns) {
      await c.waitFor('session.created');
      const from = c.mark();
      c.send({ type: 'session.update', session: c.iface === 'beta' ? { instructions: 'Plain speech.' } : { type: 'realtime', instructions: 'Plain speech.' } });
      assert.equal((await c.waitFor('session.updated', () => true, { from }))['session'].instructions, 'Plain speech.');
      await c.close();
    }
  });

  rec.test('REST refusals: missing / wrong key 401, unknown field and out-of-range TTL 400 (OpenAI error body)', async () => {
    const post = (path: string, body: unknown, key: string | null = TEST_KEY) =>
      fetch(`${platform.httpBase}/v1/realtime/${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) }, body: JSON.stringify(body) });
    for (const [key, status] of [[null, 401], ['sk-wrong-000000', 401]] as const) {
      const r = await post('client_secrets', {}, key);
      assert.equal(r.status, status);
      assert.equal(((await r.json()) as { error: { type: string } }).error.type, 'invalid_request_error');
    }
    const unknown = await post('client_secrets', { session: { type: 'realtime', bogus: 1 } });
    assert.equal(unknown.status, 400);
    const body = (await unknown.json()) as { error: { code: string; param: string } };
    assert.equal(body.error.code, 'unknown_parameter');
    assert.equal(body.error.param, 'session.bogus');
    assert.equal((await post('client_secrets', { expires_after: { anchor: 'created_at', seconds: 5 } })).status, 400);
    // An ephemeral key cannot mint more keys.
    const ek = await rest.realtime.clientSecrets.create({});
    assert.equal((await post('client_secrets', {}, ek.value)).status, 401);
  });

  rec.test(EXPIRED_KEY_TEST, async (s) => {
    const wait = shortSecret.expires_at * 1000 - Date.now() + 300;
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const late = await connectRaw(platform, s, { key: shortSecret.value });
    const { err, close } = await refusal(late);
    assert.equal(err['code'], 'invalid_api_key');
    assert.equal(close.code, 3000);
  }, { timeout: 30_000 });

  rec.test(OUTLIVES_TEST, async () => {
    assert.ok(Date.now() / 1000 > shortSecret.expires_at, 'the key has expired by now');
    for (const c of shortSessions) {
      assert.equal((await c.waitFor('session.created'))['session'].instructions, 'Short-lived.');
      const from = c.mark();
      c.send({ type: 'session.update', session: { type: 'realtime', instructions: 'still here' } });
      assert.equal((await c.waitFor('session.updated', () => true, { from }))['session'].instructions, 'still here');
      await c.close();
    }
  });
});

describe('keepalive and session limit', () => {
  rec.test('keepalive pings on an idle connection, then session_expired at the session limit', async () => {
    const closed = await idle.closed;
    assert.ok(idle.pings.length >= 1, 'at least one ping while idle');
    const firstPingS = (idle.pings[0]! - idleOpenedAt) / 1000;
    assert.ok(firstPingS < 10, `first ping after ${firstPingS.toFixed(1)} s (PARLEY_PING_INTERVAL_MS=1000, ~4 s granularity)`);
    rec.figures['pings_at_1000ms_setting_s_after_open'] = idle.pings.map((p) => Number(((p - idleOpenedAt) / 1000).toFixed(1)));
    const err = idle.all('error')[0];
    assert.ok(err, `an error before the close: ${idle.types().join(', ')}`);
    assert.equal(err['error'].code, 'session_expired');
    assert.equal(err['error'].type, 'invalid_request_error');
    assert.match(err['error'].message, /maximum duration/);
    const lifetime = closed.at - idleOpenedAt;
    assert.ok(lifetime > SESSION_MAX_MS - 1_500 && lifetime < SESSION_MAX_MS + 1_500, `closed after ${lifetime.toFixed(0)} ms`);
    assert.equal(idle.events.at(-1)!.ev.type, 'error', 'session_expired is the last event');
  }, { timeout: 30_000 });
});
