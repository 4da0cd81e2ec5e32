// [conformance] GA session, input buffer and conversation editing, driven by the official `openai`
// SDK GA client (wss://); every server event is also validated by @openai/agents-realtime's schema.
// The LLM and STT are a fake OpenAI provider speaking the real HTTP protocols (so the test sees what
// Parley asks of them); VAD is Silero, TTS espeak.
import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeOpenAI, type FakeOpenAI } from '../support/fake-openai.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { silence, synthesizeSpeech } from '../support/speech.ts';
import { connectSdk, isSorted, orderOf, streamAudio, type Conn } from './support/clients.ts';
import { Conformance } from './support/recorder.ts';
import { assertGaDefaults, chatRequests, toG711, transcriptionFields, update } from './support/session.ts';

const rec = new Conformance('ga-session');
let fake: FakeOpenAI;
let platform: TestPlatform;
let speech: Uint8Array;

before(async () => {
  fake = await startFakeOpenAI();
  platform = await startTestPlatform({ env: { OPENAI_BASE_URL: fake.baseURL, OPENAI_API_KEY: 'x', PARLEY_STT_ENGINE: 'openai' } });
  speech = await synthesizeSpeech('What is the weather like in Paris today?');
  fake.chat = [{ text: 'It is sunny.' }];
});
after(async () => {
  await platform?.stop();
  await fake?.close();
});

async function open(): Promise<Conn> {
  const c = await connectSdk(platform, rec.current);
  await c.waitFor('session.created');
  return c;
}

describe('GA session', () => {
  rec.test('session.created: the full GA session with OpenAI defaults', async () => {
    const c = await open();
    assertGaDefaults((await c.waitFor('session.created'))['session']);
    await c.close();
  });

  rec.test('session.update: every field applies and session.updated carries the full effective session', async () => {
    const c = await open();
    const before = (await c.waitFor('session.created'))['session'];
    const tools = [{ type: 'function', name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } }];
    // Every field set at once; session.updated must echo each of them and keep the rest.
    const changes = {
      instructions: 'Be terse.',
      output_modalities: ['text'],
      audio: {
        input: {
          format: { type: 'audio/pcmu' },
          transcription: { model: 'gpt-4o-mini-transcribe', language: 'en', prompt: 'City names' },
          noise_reduction: { type: 'near_field' },
          turn_detection: { type: 'semantic_vad', eagerness: 'high', create_response: false, interrupt_response: false },
        },
        output: { format: { type: 'audio/pcma' }, voice: 'marin', speed: 1.25 },
      },
      tools,
      tool_choice: { type: 'function', name: 'get_weather' },
      max_output_tokens: 256,
      truncation: { type: 'retention_ratio', retention_ratio: 0.5 },
      tracing: 'auto',
      include: ['item.input_audio_transcription.logprobs'],
    };
    const s = await update(c, { model: before.model, ...changes });
    assert.deepEqual({ ...s, id: undefined, expires_at: undefined }, { ...before, id: undefined, expires_at: undefined, ...changes });
    assert.equal(s.id, before.id);
    // Only fields present change; null disables turn detection, [] and "" clear.
    const partial = await update(c, { instructions: '' });
    assert.deepEqual({ ...partial, instructions: 'Be terse.' }, s);
    const manual = await update(c, { audio: { input: { turn_detection: null } }, tools: [] });
    assert.equal(manual.audio.input.turn_detection, null);
    assert.deepEqual(manual.tools, []);
    assert.equal(manual.audio.input.transcription.model, 'gpt-4o-mini-transcribe', 'untouched sibling fields stay');
    const vad = await update(c, { audio: { input: { format: { type: 'audio/pcm' }, turn_detection: { type: 'server_vad', idle_timeout_ms: 5000 } } } });
    assert.deepEqual(vad.audio.input.format, { type: 'audio/pcm', rate: 24000 });
    const td = vad.audio.input.turn_detection;
    assert.equal(td.type, 'server_vad');
    assert.equal(td.idle_timeout_ms, 5000);
    assert.equal(td.threshold, 0.5);
    assert.equal(td.create_response, true);
    const semantic = await update(c, { audio: { input: { turn_detection: { type: 'semantic_vad' } } } });
    assert.deepEqual(semantic.audio.input.turn_detection, { type: 'semantic_vad', eagerness: 'auto', create_response: true, interrupt_response: true });
    assert.ok(!c.all('session.updated').some((e) => 'event_id' in e['session']), 'no client event_id leaks into the session');
    await c.close();
  });

  rec.test('refused session.update: error with code, param and the client event_id; nothing changes (the update is discarded whole)', async () => {
    const c = await open();
    const before = (await c.waitFor('session.created'))['session'];
    const cases: Array<{ session: Record<string, unknown>; code?: string; param: string }> = [
      { session: { type: 'realtime', bogus_field: 1 }, code: 'unknown_parameter', param: 'session.bogus_field' },
      { session: { type: 'realtime', instructions: 'CHANGED', audio: { input: { bogus: true } } }, code: 'unknown_parameter', param: 'session.audio.input.bogus' },
      { session: { type: 'realtime', modalities: ['text'] }, code: 'unknown_parameter', param: 'session.modalities' },
      { session: { type: 'realtime', temperature: 0.8 }, code: 'unknown_parameter', param: 'session.temperature' },
      { session: { type: 'realtime', turn_detection: null }, code: 'unknown_parameter', param: 'session.turn_detection' },
      { session: { type: 'realtime', max_response_output_tokens: 5 }, code: 'unknown_parameter', param: 'session.max_response_output_tokens' },
      { session: { instructions: 'CHANGED' }, code: 'missing_required_parameter', param: 'session.type' },
      { session: { type: 'session' }, code: 'invalid_value', param: 'session.type' },
      { session: { type: 'transcription' }, code: 'invalid_value', param: 'session.type' },
      { session: { type: 'realtime', output_modalities: ['text', 'audio'] }, param: 'session.output_modalities' },
      { session: { type: 'realtime', audio: { input: { format: { type: 'audio/pcm', rate: 16000 } } } }, code: 'integer_below_min_value', param: 'session.audio.input.format.rate' },
      { session: { type: 'realtime', audio: { output: { speed: 3 } } }, param: 'session.audio.output.speed' },
      { session: { type: 'realtime', max_output_tokens: 5000 }, param: 'session.max_output_tokens' },
      { session: { type: 'realtime', audio: { input: { turn_detection: { type: 'server_vad', idle_timeout_ms: 1000 } } } }, param: 'session.audio.input.turn_detection.idle_timeout_ms' },
      { session: { type: 'realtime', model: 'some-other-model' }, param: 'session.model' },
    ];
    for (const k of cases) {
      const err = (await c.expectError({ type: 'session.update', session: k.session }))['error'];
      assert.equal(err.type, 'invalid_request_error');
      if (k.code) assert.equal(err.code, k.code, `code for ${JSON.stringify(k.session)}: ${err.message}`);
      else assert.ok(typeof err.code === 'string' && err.code.length > 0);
      assert.equal(err.param, k.param, `param for ${JSON.stringify(k.session)}`);
    }
    assert.equal(c.all('session.updated').length, 0, 'no refused update answered with session.updated');
    const after = await update(c, {});
    assert.deepEqual(after, before, 'the effective session is unchanged');
    await c.close();
  });
});

describe('GA input audio buffer', () => {
  rec.test('manual mode (turn_detection null): commit -> committed + user item added/done + transcription; no speech events, no response', async () => {
    const c = await open();
    await update(c, { output_modalities: ['text'], audio: { input: { turn_detection: null, transcription: { model: 'whisper-1', language: 'en', prompt: 'weather in Paris' } } } });
    const fakeFrom = fake.requests.length;
    await streamAudio(c, speech, { fast: true });
    const from = c.mark();
    c.send({ type: 'input_audio_buffer.commit' });
    const committed = await c.waitFor('input_audio_buffer.committed', () => true, { from });
    const itemId = committed['item_id'];
    assert.ok(typeof itemId === 'string' && itemId.length <= 32);
    assert.ok('previous_item_id' in committed);
    const added = await c.waitFor('conversation.item.added', (e) => e['item'].id === itemId, { from });
    assert.deepEqual(added['item'], { id: itemId, object: 'realtime.item', type: 'message', status: 'completed', role: 'user', content: [{ type: 'input_audio', transcript: null }] });
    await c.waitFor('conversation.item.done', (e) => e['item'].id === itemId, { from });
    const done = await c.waitFor('conversation.item.input_audio_transcription.completed', (e) => e['item_id'] === itemId, { from });
    assert.equal(done['transcript'], fake.transcription.text);
    assert.equal(done['content_index'], 0);
    assert.equal(done['usage'].type, 'tokens');
    assert.ok(isSorted(orderOf(c, ['input_audio_buffer.committed', 'conversation.item.added', 'conversation.item.done'], from)));
    const fields = transcriptionFields(fake, fakeFrom).at(-1);
    assert.deepEqual([fields?.['model'], fields?.['language'], fields?.['prompt']], ['whisper-1', 'en', 'weather in Paris'], 'transcription model / language / prompt reach the STT');
    // Nothing else happens until the client asks.
    await new Promise((r) => setTimeout(r, 400));
    for (const t of ['input_audio_buffer.speech_started', 'response.created']) assert.ok(!c.types().includes(t), `no ${t} in manual mode`);
    const rFrom = c.mark();
    c.send({ type: 'response.create' });
    assert.equal((await c.waitFor('response.done', () => true, { from: rFrom }))['response'].status, 'completed');
    assert.deepEqual(chatRequests(fake, fakeFrom).at(-1)?.['messages'].at(-1), { role: 'user', content: fake.transcription.text });
    await c.close();
  });

  rec.test('commit needs >= 100 ms (input_audio_buffer_commit_empty with the event_id); clear -> cleared and empties the buffer', async () => {
    const c = await open();
    await update(c, { audio: { input: { turn_detection: null } } });
    const empty = (await c.expectError({ type: 'input_audio_buffer.commit' }))['error'];
    assert.equal(empty.code, 'input_audio_buffer_commit_empty');
    assert.match(empty.message, /100ms/);
    await streamAudio(c, silence(60), { fast: true });
    assert.equal((await c.expectError({ type: 'input_audio_buffer.commit' }))['error'].code, 'input_audio_buffer_commit_empty', '60 ms is too little');
    await streamAudio(c, speech, { fast: true });
    const from = c.mark();
    c.send({ type: 'input_audio_buffer.clear' });
    await c.waitFor('input_audio_buffer.cleared', () => true, { from });
    assert.equal((await c.expectError({ type: 'input_audio_buffer.commit' }))['error'].code, 'input_audio_buffer_commit_empty', 'cleared');
    await streamAudio(c, silence(100), { fast: true });
    const ok = c.mark();
    c.send({ type: 'input_audio_buffer.commit' });
    await c.waitFor('input_audio_buffer.committed', () => true, { from: ok });
    await c.close();
  });

  rec.test('a failing transcription: conversation.item.input_audio_transcription.failed {item_id, content_index, error}', async () => {
    const c = await open();
    await update(c, { audio: { input: { turn_detection: null, transcription: { model: 'whisper-1' } } } });
    fake.transcription = { text: 'unused', status: 400 };
    try {
      await streamAudio(c, speech, { fast: true });
      const from = c.mark();
      c.send({ type: 'input_audio_buffer.commit' });
      const id = (await c.waitFor('input_audio_buffer.committed', () => true, { from }))['item_id'];
      const failed = await c.waitFor('conversation.item.input_audio_transcription.failed', (e) => e['item_id'] === id, { from });
      assert.equal(failed['content_index'], 0);
      // No `param` (OpenAI has none to give here, and agents-realtime drops the event if it is null).
      assert.deepEqual(Object.keys(failed['error']).sort(), ['code', 'message', 'type']);
      assert.ok(!c.types(from).includes('conversation.item.input_audio_transcription.completed'));
    } finally {
      fake.transcription = { text: 'hello from the fake transcriber' };
      await c.close();
    }
  });

  rec.test('G.711 input: A-law through server VAD (create_response false: no response), μ-law by manual commit; retrieve returns the audio', async () => {
    const c = await open();
    await update(c, { audio: { input: { format: { type: 'audio/pcma' }, turn_detection: { type: 'server_vad', create_response: false, silence_duration_ms: 500 }, transcription: { model: 'whisper-1' } } } });
    const from = c.mark();
    await streamAudio(c, speech, { encode: (p) => toG711(p, 'alaw') });
    await streamAudio(c, silence(900), { encode: (p) => toG711(p, 'alaw') });
    const started = await c.waitFor('input_audio_buffer.speech_started', () => true, { from });
    const stopped = await c.waitFor('input_audio_buffer.speech_stopped', () => true, { from });
    const committed = await c.waitFor('input_audio_buffer.committed', () => true, { from });
    assert.equal(started['item_id'], committed['item_id']);
    const heard = stopped['audio_end_ms'] - started['audio_start_ms'];
    const spoken = (speech.length / 48_000) * 1000;
    assert.ok(heard > spoken * 0.6 && heard < spoken + 1_300, `VAD heard ${heard} ms of ${spoken.toFixed(0)} ms of A-law speech`);
    await c.waitFor('conversation.item.input_audio_transcription.completed', (e) => e['item_id'] === committed['item_id'], { from });
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(!c.types(from).includes('response.created'), 'create_response: false');

    await update(c, { audio: { input: { format: { type: 'audio/pcmu' }, turn_detection: null } } });
    const m = c.mark();
    await streamAudio(c, speech, { fast: true, encode: (p) => toG711(p, 'ulaw') });
    c.send({ type: 'input_audio_buffer.commit' });
    const item = (await c.waitFor('input_audio_buffer.committed', () => true, { from: m }))['item_id'];
    await c.waitFor('conversation.item.input_audio_transcription.completed', (e) => e['item_id'] === item, { from: m });
    c.send({ type: 'conversation.item.retrieve', item_id: item });
    const got = await c.waitFor('conversation.item.retrieved', (e) => e['item'].id === item, { from: m });
    const audio = Buffer.from(got['item'].content[0].audio ?? '', 'base64');
    const seconds = speech.length / 48_000;
    rec.figures['retrieved_audio_bytes_per_second_with_pcmu_input (48000 = PCM16 24 kHz, 8000 = G.711)'] = Math.round(audio.length / seconds);
    assert.ok(audio.length > 0.9 * seconds * 8_000, `retrieved ${audio.length} bytes for ${seconds.toFixed(2)} s`);
    await c.close();
  });
});

describe('GA conversation editing', () => {
  rec.test('conversation.item.create: message parts, previous_item_id placement (append, root, after), added then done; the LLM sees that order', async () => {
    const c = await open();
    await update(c, { output_modalities: ['text'], audio: { input: { turn_detection: null, transcription: { model: 'whisper-1' } } } });
    const create = async (item: Record<string, unknown>, previous?: string) => {
      const from = c.mark();
      c.send({ type: 'conversation.item.create', ...(previous === undefined ? {} : { previous_item_id: previous }), item });
      const added = await c.waitFor('conversation.item.added', () => true, { from });
      const done = await c.waitFor('conversation.item.done', (e) => e['item'].id === added['item'].id, { from });
      assert.ok(isSorted(orderOf(c, ['conversation.item.added', 'conversation.item.done'], from)));
      return { added, done };
    };
    const a = await create({ id: 'msg_a', type: 'message', role: 'user', content: [{ type: 'input_text', text: 'second' }] });
    assert.equal(a.added['previous_item_id'], null);
    assert.deepEqual(a.done['item'], { id: 'msg_a', object: 'realtime.item', type: 'message', status: 'completed', role: 'user', content: [{ type: 'input_text', text: 'second' }] });
    const b = await create({ id: 'msg_b', type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'fourth' }] });
    assert.equal(b.added['previous_item_id'], 'msg_a');
    assert.equal(b.done['item'].content[0].type, 'output_text');
    const root = await create({ id: 'msg_root', type: 'message', role: 'system', content: [{ type: 'input_text', text: 'first' }] }, 'root');
    assert.equal(root.added['previous_item_id'], null);
    const mid = await create({ id: 'msg_mid', type: 'message', role: 'user', content: [{ type: 'input_text', text: 'third' }] }, 'msg_a');
    assert.equal(mid.added['previous_item_id'], 'msg_a');
    const withAudio = await create({ type: 'message', role: 'user', content: [{ type: 'input_audio', audio: Buffer.from(speech).toString('base64') }] });
    assert.equal(withAudio.added['item'].content[0].type, 'input_audio');
    assert.ok(!('audio' in withAudio.done['item'].content[0]) || !withAudio.done['item'].content[0].audio, 'item.done carries no audio bytes');
    await c.waitFor('conversation.item.input_audio_transcription.completed', (e) => e['item_id'] === withAudio.added['item'].id);
    const fakeFrom = fake.requests.length;
    const from = c.mark();
    c.send({ type: 'response.create' });
    await c.waitFor('response.done', () => true, { from });
    const messages = chatRequests(fake, fakeFrom)[0]?.['messages'] as Array<{ role: string; content: string }>;
    assert.deepEqual(messages.slice(1).map((m) => m.content), ['first', 'second', 'third', 'fourth', fake.transcription.text]);
    await c.close();
  });

  rec.test('conversation.item.create refusals: unknown previous_item_id, id over 32 chars, duplicate id, assistant audio, unknown call_id', async () => {
    const c = await open();
    const msg = (id?: string) => ({ ...(id ? { id } : {}), type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hi' }] });
    const ok = c.mark();
    c.send({ type: 'conversation.item.create', item: msg('dup_1') });
    await c.waitFor('conversation.item.done', () => true, { from: ok });
    const cases: Array<{ ev: Record<string, unknown>; param: string }> = [
      { ev: { previous_item_id: 'item_nope', item: msg() }, param: 'previous_item_id' },
      { ev: { item: msg('item_' + 'x'.repeat(30)) }, param: 'item.id' },
      { ev: { item: msg('dup_1') }, param: 'item.id' },
      { ev: { item: { type: 'message', role: 'assistant', content: [{ type: 'output_audio', audio: 'AAAA', transcript: 'hi' }] } }, param: 'item.content[0].audio' },
      { ev: { item: { type: 'function_call_output', call_id: 'call_unknown', output: '{}' } }, param: 'item.call_id' },
      { ev: { item: { type: 'message', role: 'system', content: [{ type: 'input_audio', audio: 'AAAA' }] } }, param: 'item.content[0].type' },
    ];
    for (const k of cases) {
      const err = (await c.expectError({ type: 'conversation.item.create', ...k.ev }))['error'];
      assert.equal(err.type, 'invalid_request_error');
      assert.equal(err.param, k.param, `param for ${JSON.stringify(k.ev).slice(0, 100)}: ${err.code} ${err.message}`);
    }
    // A client-created function_call can be answered.
    const f = c.mark();
    c.send({ type: 'conversation.item.create', item: { type: 'function_call', call_id: 'call_client_1', name: 'lookup', arguments: '{}' } });
    c.send({ type: 'conversation.item.create', item: { type: 'function_call_output', call_id: 'call_client_1', output: '{"ok":true}' } });
    await c.waitFor('conversation.item.done', (e) => e['item'].type === 'function_call_output', { from: f });
    await c.close();
  });

  rec.test('conversation.item.retrieve (with user audio) and .delete; missing ids get errors with param item_id', async () => {
    const c = await open();
    await update(c, { audio: { input: { turn_detection: null } } });
    const from = c.mark();
    c.send({ type: 'conversation.item.create', item: { id: 'msg_keep', type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hello' }] } });
    await streamAudio(c, speech, { fast: true });
    c.send({ type: 'input_audio_buffer.commit' });
    const spoken = (await c.waitFor('input_audio_buffer.committed', () => true, { from }))['item_id'];
    c.send({ type: 'conversation.item.retrieve', item_id: 'msg_keep' });
    const text = await c.waitFor('conversation.item.retrieved', (e) => e['item'].id === 'msg_keep', { from });
    assert.deepEqual(text['item'].content, [{ type: 'input_text', text: 'hello' }]);
    c.send({ type: 'conversation.item.retrieve', item_id: spoken });
    const audio = await c.waitFor('conversation.item.retrieved', (e) => e['item'].id === spoken, { from });
    const bytes = Buffer.from(audio['item'].content[0].audio ?? '', 'base64').length;
    assert.ok(Math.abs(bytes - speech.length) <= 9_600, `retrieved ${bytes} bytes of ${speech.length} committed`);
    c.send({ type: 'conversation.item.delete', item_id: 'msg_keep' });
    assert.equal((await c.waitFor('conversation.item.deleted', () => true, { from }))['item_id'], 'msg_keep');
    for (const type of ['conversation.item.retrieve', 'conversation.item.delete']) {
      const err = (await c.expectError({ type, item_id: 'msg_keep' }))['error'];
      assert.equal(err.param, 'item_id', `${type} of a deleted item`);
    }
    // A later item no longer follows the deleted one.
    const f = c.mark();
    c.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'after' }] } });
    assert.equal((await c.waitFor('conversation.item.added', () => true, { from: f }))['previous_item_id'], spoken);
    await c.close();
  });
});

describe('GA transcription session (?intent=transcription)', () => {
  rec.test('session.update type transcription; speech -> speech_started/stopped, committed, item added/done, transcription delta + completed; no response.* or rate_limits', async () => {
    const c = await connectSdk(platform, rec.current, { intent: 'transcription' });
    await c.waitFor('session.created');
    const from = c.mark();
    c.send({ type: 'session.update', session: { type: 'transcription', audio: { input: { transcription: { model: 'gpt-4o-mini-transcribe', language: 'en' }, turn_detection: { type: 'server_vad', silence_duration_ms: 500 }, noise_reduction: { type: 'far_field' } } } } });
    const s = (await c.waitFor('session.updated', () => true, { from }))['session'];
    assert.equal(s.type, 'transcription');
    assert.deepEqual(s.audio.input.transcription, { model: 'gpt-4o-mini-transcribe', language: 'en', prompt: null });
    assert.deepEqual(s.audio.input.noise_reduction, { type: 'far_field' });
    await streamAudio(c, speech);
    await streamAudio(c, silence(800));
    const committed = await c.waitFor('input_audio_buffer.committed', () => true, { from });
    const id = committed['item_id'];
    const done = await c.waitFor('conversation.item.input_audio_transcription.completed', (e) => e['item_id'] === id, { from });
    assert.equal(done['transcript'], fake.transcription.text);
    const order = orderOf(c, ['input_audio_buffer.speech_started', 'input_audio_buffer.speech_stopped', 'input_audio_buffer.committed', 'conversation.item.added', 'conversation.item.done', 'conversation.item.input_audio_transcription.completed'], from);
    assert.ok(isSorted(order), `order: ${c.types(from).join(', ')}`);
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(!c.types().some((t) => t.startsWith('response.') || t === 'rate_limits.updated'), `no responses: ${c.types().join(', ')}`);
    for (const ev of [{ type: 'response.create' }, { type: 'session.update', session: { type: 'realtime' } }]) {
      assert.equal((await c.expectError(ev))['error'].type, 'invalid_request_error');
    }
    await c.close();
  });
});
