// [conformance] The beta interface (OpenAI-Beta: realtime=v1) through the official SDK's beta client
// (`openai/beta/realtime/ws`, wss://): the flat session, beta event names (response.text.*,
// response.audio*, conversation.item.created, no item.done), beta content types (`text` / `audio`),
// the beta response object, function calling as openai-realtime-api-beta consumes it, cancel,
// truncate, G.711 names and transcription sessions (transcription_session.update). The LLM is a fake
// OpenAI provider; STT pocketsphinx, TTS espeak.
import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeOpenAI, type FakeOpenAI } from '../support/fake-openai.ts';
import { startTestPlatform, TEST_KEY, type TestPlatform } from '../support/platform.ts';
import { silence, synthesizeSpeech } from '../support/speech.ts';
import { connectRaw, connectSdk, isSorted, orderOf, streamAudio, type Conn, type Ev } from './support/clients.ts';
import { Conformance } from './support/recorder.ts';
import { chatRequests, textTurn, toG711, update } from './support/session.ts';

const rec = new Conformance('beta');
let fake: FakeOpenAI;
let platform: TestPlatform;
const ANSWER = 'Beta clients still get answers. Two sentences of them.';
const GA_ONLY = ['conversation.item.added', 'conversation.item.done', 'response.output_text.delta', 'response.output_text.done', 'response.output_audio.delta', 'response.output_audio.done', 'response.output_audio_transcript.delta', 'response.output_audio_transcript.done'];

before(async () => {
  fake = await startFakeOpenAI();
  platform = await startTestPlatform({ env: { OPENAI_BASE_URL: fake.baseURL, OPENAI_API_KEY: 'x' } });
});
after(async () => {
  await platform?.stop();
  await fake?.close();
});

async function open(session: Record<string, unknown> = {}): Promise<Conn> {
  const c = await connectSdk(platform, rec.current, { beta: true });
  await c.waitFor('session.created');
  await update(c, { turn_detection: null, ...session });
  return c;
}

/** A text turn; beta tests also wait for the rate_limits.updated after it. */
const turn = (c: Conn, text: string, response?: Record<string, unknown>) => textTurn(c, text, response, { rateLimits: true });

function assertNoGaNames(c: Conn): void {
  for (const t of GA_ONLY) assert.ok(!c.types().includes(t), `${t} never reaches a beta client`);
}

describe('beta session', () => {
  rec.test('session.created and session.updated carry the full flat session; every beta field applies', async () => {
    const c = await connectSdk(platform, rec.current, { beta: true });
    const s0 = (await c.waitFor('session.created'))['session'];
    for (const k of ['id', 'object', 'model', 'expires_at', 'modalities', 'instructions', 'voice', 'speed', 'input_audio_format', 'output_audio_format', 'input_audio_transcription', 'input_audio_noise_reduction', 'turn_detection', 'tools', 'tool_choice', 'temperature', 'max_response_output_tokens', 'tracing', 'truncation', 'prompt', 'include']) {
      assert.ok(k in s0, `session.${k}`);
    }
    assert.ok(!('type' in s0) && !('audio' in s0) && !('output_modalities' in s0), 'no GA fields');
    assert.deepEqual([s0.modalities, s0.input_audio_format, s0.output_audio_format, s0.temperature, s0.max_response_output_tokens, s0.voice], [['text', 'audio'], 'pcm16', 'pcm16', 0.8, 'inf', 'alloy']);
    assert.equal(s0.turn_detection.type, 'server_vad');
    const tools = [{ type: 'function', name: 'lookup', description: 'Look up', parameters: { type: 'object', properties: {} } }];
    const patch = {
      modalities: ['text'],
      instructions: 'Beta instructions.',
      voice: 'verse',
      speed: 1.1,
      input_audio_format: 'g711_ulaw',
      output_audio_format: 'g711_alaw',
      input_audio_transcription: { model: 'whisper-1', language: 'en', prompt: 'names' },
      input_audio_noise_reduction: { type: 'far_field' },
      turn_detection: { type: 'semantic_vad', eagerness: 'low', create_response: true, interrupt_response: false },
      tools,
      tool_choice: 'none',
      temperature: 0.7,
      max_response_output_tokens: 300,
      tracing: 'auto',
      truncation: 'disabled',
    };
    const s = await update(c, patch);
    assert.deepEqual({ ...s, turn_detection: undefined }, { ...s0, ...patch, turn_detection: undefined });
    assert.deepEqual(s.turn_detection, patch.turn_detection);
    const cleared = await update(c, { turn_detection: null, tools: [], instructions: '' });
    assert.deepEqual({ ...cleared, turn_detection: 0, tools: 0, instructions: 0 }, { ...s, turn_detection: 0, tools: 0, instructions: 0 });
    assert.deepEqual([cleared.turn_detection, cleared.tools, cleared.instructions], [null, [], '']);
    // Refusals keep the socket and the session as they were.
    for (const [session, param] of [[{ bogus: 1 }, 'session.bogus'], [{ temperature: 2 }, 'session.temperature'], [{ input_audio_format: 'mp3' }, 'session.input_audio_format'], [{ modalities: ['text'], bogus: 1 }, 'session.bogus']] as const) {
      const err = (await c.expectError({ type: 'session.update', session }))['error'];
      assert.equal(err.param, param, JSON.stringify(session));
    }
    assert.deepEqual(await update(c, {}), cleared);
    await c.close();
  });
});

describe('beta responses', () => {
  rec.test('text response: conversation.item.created (no .done), response.text.delta/done, content types `text`, beta response object', async () => {
    fake.chat = [{ text: ANSWER }];
    const c = await open({ modalities: ['text'] });
    const { from, done } = await turn(c, 'hello');
    const order = orderOf(c, [
      ['conversation.item.created', (e) => e['item'].role === 'user'],
      'response.created',
      'response.output_item.added',
      ['conversation.item.created', (e) => e['item'].role === 'assistant'],
      'response.content_part.added',
      'response.text.delta',
      'response.text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.done',
      'rate_limits.updated',
    ], from);
    assert.ok(isSorted(order), `order: ${c.types(from).join(', ')}`);
    assertNoGaNames(c);
    const created = await c.waitFor('conversation.item.created', (e) => e['item'].role === 'assistant', { from });
    assert.deepEqual(created['item'].content, [], 'the assistant item is announced empty');
    assert.deepEqual((await c.waitFor('response.content_part.added', () => true, { from }))['part'], { type: 'text', text: '' });
    assert.equal((await c.waitFor('response.text.done', () => true, { from }))['text'], ANSWER);
    const r = done['response'];
    assert.deepEqual(r.output[0].content, [{ type: 'text', text: ANSWER }]);
    assert.deepEqual(r.modalities, ['text']);
    assert.ok(!('output_modalities' in r) && !('audio' in r), 'no GA response fields');
    assert.equal(r.output_audio_format, 'pcm16');
    assert.equal(r.voice, 'alloy');
    await c.close();
  });

  rec.test('beta response object carries temperature (CAP-C live beta capture: modalities, voice, output_audio_format, temperature, max_output_tokens)', async () => {
    fake.chat = [{ text: 'Ok.' }];
    const c = await open({ modalities: ['text'], temperature: 0.9 });
    const r = (await turn(c, 'hi')).done['response'];
    assert.equal(r.temperature, 0.9);
    assert.equal(r.max_output_tokens, 'inf');
    await c.close();
  });

  rec.test('audio response: response.audio.delta/done, response.audio_transcript.*, content `audio`; G.711 output names (g711_alaw)', async () => {
    fake.chat = [{ text: ANSWER }];
    const c = await open();
    const { from, done } = await turn(c, 'speak');
    const order = orderOf(c, ['response.content_part.added', 'response.audio_transcript.delta', 'response.audio.done', 'response.audio_transcript.done', 'response.content_part.done', 'response.output_item.done', 'response.done'], from);
    assert.ok(isSorted(order), `order: ${c.types(from).join(', ')}`);
    assert.ok(c.all('response.audio.delta').length > 0);
    assert.deepEqual(done['response'].output[0].content, [{ type: 'audio', transcript: ANSWER }]);
    assert.deepEqual(done['response'].modalities, ['text', 'audio']);
    assertNoGaNames(c);
    const pcmBytes = c.all('response.audio.delta', (e) => e['response_id'] === done['response'].id).reduce((n, e) => n + Buffer.from(e['delta'], 'base64').length, 0);
    const alaw = (await turn(c, 'again', { output_audio_format: 'g711_alaw' })).done['response'];
    assert.equal(alaw.output_audio_format, 'g711_alaw');
    assert.equal((await turn(c, 'text now', { modalities: ['text'], voice: 'ash' })).done['response'].voice, 'ash');
    const alawBytes = c.all('response.audio.delta', (e) => e['response_id'] === alaw.id).reduce((n, e) => n + Buffer.from(e['delta'], 'base64').length, 0);
    assert.ok(Math.abs(pcmBytes / alawBytes - 6) < 0.1, `pcm16 ${pcmBytes} vs g711_alaw ${alawBytes}`);
    await c.close();
  });

  rec.test('per-response temperature and max_response_output_tokens reach the model', async () => {
    fake.chat = [{ text: 'Ok.' }];
    const c = await open({ modalities: ['text'], temperature: 1.0 });
    const reqFrom = fake.requests.length;
    await turn(c, 'hi', { temperature: 0.6, max_response_output_tokens: 50, instructions: 'Per response.' });
    const req = chatRequests(fake, reqFrom)[0];
    assert.equal(req?.['max_tokens'], 50);
    assert.deepEqual(req?.['messages'][0], { role: 'system', content: 'Per response.' });
    assert.equal(req?.['temperature'], 0.6);
    await c.close();
  });

  rec.test('function calling as openai-realtime-api-beta needs it: conversation.item.created {name, arguments: ""} first, deltas, done with name; output + response.create continues', async () => {
    fake.chat = [{ toolCall: { id: 'call_beta_1', name: 'lookup', arguments: '{"q":"weather"}' } }];
    const c = await open({ modalities: ['text'], tools: [{ type: 'function', name: 'lookup', parameters: { type: 'object', properties: { q: { type: 'string' } } } }] });
    const { from, done } = await turn(c, 'look it up');
    const call = done['response'].output[0];
    assert.deepEqual([call.type, call.call_id, call.name, call.arguments, call.status], ['function_call', 'call_beta_1', 'lookup', '{"q":"weather"}', 'completed']);
    const is = (e: Ev) => (e['item']?.id ?? e['item_id']) === call.id;
    const order = orderOf(c, [['response.output_item.added', is], ['conversation.item.created', is], ['response.function_call_arguments.delta', is], ['response.function_call_arguments.done', is], ['response.output_item.done', is]], from);
    assert.ok(isSorted(order), `order: ${c.types(from).join(', ')}`);
    const created = (await c.waitFor('conversation.item.created', is, { from }))['item'];
    assert.deepEqual([created.name, created.arguments, created.call_id], ['lookup', '', 'call_beta_1']);
    assert.equal((await c.waitFor('response.function_call_arguments.done', is, { from }))['name'], 'lookup');
    fake.chat = [{ text: 'It is sunny.' }];
    const next = c.mark();
    c.send({ type: 'conversation.item.create', item: { type: 'function_call_output', call_id: 'call_beta_1', output: 'sunny' } });
    c.send({ type: 'response.create' });
    assert.deepEqual((await c.waitFor('response.done', () => true, { from: next }))['response'].output[0].content, [{ type: 'text', text: 'It is sunny.' }]);
    await c.close();
  });

  rec.test('response.cancel and truncate under beta names: response.audio.done ... response.done cancelled; conversation.item.truncated', async () => {
    fake.chat = [{ text: 'The first sentence arrives at once. ' }, { text: 'The second never does.', delayMs: 3_000 }];
    const c = await open();
    const from = c.mark();
    c.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'go' }] } });
    c.send({ type: 'response.create' });
    await c.waitFor('response.audio.delta', () => true, { from });
    c.send({ type: 'response.cancel' });
    const done = (await c.waitFor('response.done', () => true, { from }))['response'];
    assert.equal(done.status, 'cancelled');
    assert.deepEqual(done.status_details, { type: 'cancelled', reason: 'client_cancelled' });
    assert.ok(isSorted(orderOf(c, ['response.audio.done', 'response.audio_transcript.done', 'response.content_part.done', 'response.output_item.done', 'response.done'], from)), c.types(from).join(', '));
    const item = done.output[0];
    assert.equal(item.content[0].type, 'audio');
    // Truncate within what the client received (it may be only the first 100 ms chunk).
    const receivedMs = c.all('response.audio.delta', (e) => e['response_id'] === done.id).reduce((n, e) => n + Buffer.from(e['delta'], 'base64').length, 0) / 48;
    const played = Math.floor(Math.min(200, receivedMs));
    const t = c.mark();
    c.send({ type: 'conversation.item.truncate', item_id: item.id, content_index: 0, audio_end_ms: played });
    const reply = await c.waitFor('*', (e) => e.type === 'conversation.item.truncated' || e.type === 'error', { from: t });
    assert.equal(reply['audio_end_ms'], played, JSON.stringify(reply));
    c.send({ type: 'conversation.item.retrieve', item_id: item.id });
    const got = (await c.waitFor('conversation.item.retrieved', () => true, { from: t }))['item'];
    assert.equal(got.content[0].type, 'audio', 'beta content type on retrieve');
    assertNoGaNames(c);
    await c.close();
  });
});

describe('beta input audio and transcription sessions', () => {
  rec.test('g711_ulaw input with manual commit; beta user item content types; transcription completed', async () => {
    const speech = await synthesizeSpeech('Hello there, how are you?');
    const c = await open({ input_audio_format: 'g711_ulaw', input_audio_transcription: { model: 'whisper-1' } });
    const from = c.mark();
    await streamAudio(c, speech, { fast: true, encode: (p) => toG711(p, 'ulaw') });
    c.send({ type: 'input_audio_buffer.commit' });
    const id = (await c.waitFor('input_audio_buffer.committed', () => true, { from }))['item_id'];
    const created = await c.waitFor('conversation.item.created', (e) => e['item'].id === id, { from });
    assert.deepEqual(created['item'].content, [{ type: 'input_audio', transcript: null }]);
    const done = await c.waitFor('conversation.item.input_audio_transcription.completed', (e) => e['item_id'] === id, { from, timeoutMs: 20_000 });
    assert.ok(done['transcript'].trim().length > 0, 'pocketsphinx heard something');
    assertNoGaNames(c);
    await c.close();
  });

  rec.test('transcription session: transcription_session.created -> transcription_session.update -> .updated; speech -> conversation.item.created + transcription.completed', async () => {
    const speech = await synthesizeSpeech('Please transcribe this sentence.');
    // The SDK's beta class cannot open ?intent=transcription; beta transcription clients are browsers.
    const c = await connectRaw(platform, rec.current, { query: '?intent=transcription', key: null, protocols: ['realtime', `openai-insecure-api-key.${TEST_KEY}`, 'openai-beta.realtime-v1'] });
    const s0 = (await c.waitFor('transcription_session.created'))['session'];
    assert.equal(s0.object, 'realtime.transcription_session');
    const from = c.mark();
    c.send({ type: 'transcription_session.update', session: { input_audio_format: 'pcm16', input_audio_transcription: { model: 'gpt-4o-transcribe', prompt: '', language: 'en' }, turn_detection: { type: 'server_vad', threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 500 }, input_audio_noise_reduction: { type: 'near_field' }, include: ['item.input_audio_transcription.logprobs'] } });
    const s = (await c.waitFor('transcription_session.updated', () => true, { from }))['session'];
    assert.deepEqual(s.input_audio_transcription, { model: 'gpt-4o-transcribe', prompt: '', language: 'en' });
    assert.deepEqual(s.input_audio_noise_reduction, { type: 'near_field' });
    await streamAudio(c, speech);
    await streamAudio(c, silence(800));
    const id = (await c.waitFor('input_audio_buffer.committed', () => true, { from }))['item_id'];
    await c.waitFor('conversation.item.created', (e) => e['item'].id === id, { from });
    await c.waitFor('conversation.item.input_audio_transcription.completed', (e) => e['item_id'] === id, { from, timeoutMs: 20_000 });
    assert.ok(isSorted(orderOf(c, ['input_audio_buffer.speech_started', 'input_audio_buffer.speech_stopped', 'input_audio_buffer.committed', 'conversation.item.created', 'conversation.item.input_audio_transcription.completed'], from)));
    assert.ok(!c.types().some((t) => t.startsWith('response.') || t === 'rate_limits.updated' || t === 'session.updated'));
    // transcription_session.update belongs to transcription sessions only.
    const rt = await open();
    assert.equal((await rt.expectError({ type: 'transcription_session.update', session: {} }))['error'].code, 'invalid_value');
    await Promise.all([c.close(), rt.close()]);
  });
});
