// [conformance] GA responses through the official `openai` SDK GA client (wss://): event order of
// text and audio responses, response.create options, out-of-band responses, one active response,
// response.cancel, function calling and conversation.item.truncate. Every server event is also
// validated by @openai/agents-realtime's schema. The LLM is a fake OpenAI provider streaming real
// chat-completion chunks (text, tool calls, delays); TTS is espeak.
import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeOpenAI, type FakeOpenAI } from '../support/fake-openai.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { connectSdk, isSorted, orderOf, type Conn, type Ev } from './support/clients.ts';
import { Conformance } from './support/recorder.ts';
import { chatRequests, textTurn, update } from './support/session.ts';
import { startAbortWatch, type AbortWatch } from './support/timing.ts';

const rec = new Conformance('ga-responses');
let fake: FakeOpenAI;
let proxy: AbortWatch;
let platform: TestPlatform;
/** The provider reports finish_reason "length" (the token cap was hit) while this is set. */
let cutAtLength = false;
const ANSWER = 'The quick brown fox jumps over the lazy dog. It was a sunny day in Paris.';
const TOOLS = [{ type: 'function', name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } }];

before(async () => {
  fake = await startFakeOpenAI();
  proxy = await startAbortWatch(fake.baseURL, { rewriteEvent: (e) => (cutAtLength ? e.replace('"finish_reason":"stop"', '"finish_reason":"length"') : e) });
  platform = await startTestPlatform({ env: { OPENAI_BASE_URL: proxy.baseURL, OPENAI_API_KEY: 'x' } });
});
after(async () => {
  await platform?.stop();
  await proxy?.close();
  await fake?.close();
});

async function open(session: Record<string, unknown> = {}): Promise<Conn> {
  const c = await connectSdk(platform, rec.current);
  await c.waitFor('session.created');
  await update(c, { audio: { input: { turn_detection: null } }, ...session });
  return c;
}

const audioBytes = (c: Conn, responseId: string) => c.all('response.output_audio.delta', (e) => e['response_id'] === responseId).reduce((n, e) => n + Buffer.from(e['delta'], 'base64').length, 0);

describe('GA response event sequences', () => {
  rec.test('text response: OpenAI order, output_text content, text part, response object and usage; rate_limits.updated after response.done', async () => {
    fake.chat = [{ text: ANSWER }];
    const c = await open({ output_modalities: ['text'] });
    const { from, done } = await textTurn(c, 'Tell me something.');
    await c.waitFor('rate_limits.updated', () => true, { from });
    const order = orderOf(c, [
      ['conversation.item.added', (e) => e['item'].role === 'user'],
      ['conversation.item.done', (e) => e['item'].role === 'user'],
      'response.created',
      'response.output_item.added',
      ['conversation.item.added', (e) => e['item'].role === 'assistant'],
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      ['conversation.item.done', (e) => e['item'].role === 'assistant'],
      'response.output_item.done',
      'response.done',
      'rate_limits.updated',
    ], from);
    assert.ok(isSorted(order), `order: ${c.types(from).join(', ')}`);
    const created = (await c.waitFor('response.created', () => true, { from }))['response'];
    assert.deepEqual(Object.keys(created).sort(), ['audio', 'conversation_id', 'id', 'max_output_tokens', 'metadata', 'object', 'output', 'output_modalities', 'status', 'status_details', 'usage']);
    assert.equal(created.object, 'realtime.response');
    assert.match(created.id, /^resp_/);
    assert.equal(created.status, 'in_progress');
    assert.deepEqual(created.output, []);
    assert.equal(created.usage, null);
    assert.deepEqual(created.output_modalities, ['text']);
    assert.equal(typeof created.conversation_id, 'string');
    const userId = (await c.waitFor('conversation.item.added', (e) => e['item'].role === 'user', { from }))['item'].id;
    const outAdded = await c.waitFor('response.output_item.added', () => true, { from });
    assert.deepEqual(outAdded['item'], { id: outAdded['item'].id, object: 'realtime.item', type: 'message', status: 'in_progress', role: 'assistant', content: [] });
    assert.equal(outAdded['output_index'], 0);
    assert.equal(outAdded['response_id'], created.id);
    const convAdded = await c.waitFor('conversation.item.added', (e) => e['item'].id === outAdded['item'].id, { from });
    assert.equal(convAdded['previous_item_id'], userId);
    assert.deepEqual((await c.waitFor('response.content_part.added', () => true, { from }))['part'], { type: 'text', text: '' });
    const deltas = c.all('response.output_text.delta', (e) => e['response_id'] === created.id);
    for (const d of deltas) assert.deepEqual([d['item_id'], d['output_index'], d['content_index']], [outAdded['item'].id, 0, 0]);
    assert.equal(deltas.map((d) => d['delta']).join(''), ANSWER);
    assert.equal((await c.waitFor('response.output_text.done', () => true, { from }))['text'], ANSWER);
    assert.deepEqual((await c.waitFor('response.content_part.done', () => true, { from }))['part'], { type: 'text', text: ANSWER });
    const itemDone = (await c.waitFor('conversation.item.done', (e) => e['item'].id === outAdded['item'].id, { from }))['item'];
    assert.equal(itemDone.status, 'completed');
    assert.deepEqual(itemDone.content, [{ type: 'output_text', text: ANSWER }]);
    const r = done['response'];
    assert.equal(r.status, 'completed');
    assert.equal(r.status_details, null);
    assert.deepEqual(r.output, [itemDone]);
    assert.ok(r.usage.total_tokens > 0 && r.usage.input_tokens > 0 && r.usage.output_tokens > 0);
    assert.deepEqual(Object.keys(r.usage.input_token_details).sort(), ['audio_tokens', 'cached_tokens', 'cached_tokens_details', 'image_tokens', 'text_tokens']);
    assert.deepEqual(Object.keys(r.usage.output_token_details).sort(), ['audio_tokens', 'text_tokens']);
    const limits = (await c.waitFor('rate_limits.updated', () => true, { from }))['rate_limits'];
    assert.ok(Array.isArray(limits) && limits.every((l: Ev) => ['requests', 'tokens'].includes(l['name']) && typeof l['remaining'] === 'number'));
    await c.close();
  });

  rec.test('audio response: OpenAI order, output_audio content, audio part with transcript, PCM16 24 kHz deltas; no audio bytes in done events', async () => {
    fake.chat = [{ text: ANSWER }];
    const c = await open();
    const { from, done } = await textTurn(c, 'Say something.');
    await c.waitFor('rate_limits.updated', () => true, { from });
    const order = orderOf(c, [
      'response.created',
      'response.output_item.added',
      ['conversation.item.added', (e) => e['item'].role === 'assistant'],
      'response.content_part.added',
      'response.output_audio_transcript.delta',
      'response.output_audio.done',
      'response.output_audio_transcript.done',
      'response.content_part.done',
      ['conversation.item.done', (e) => e['item'].role === 'assistant'],
      'response.output_item.done',
      'response.done',
      'rate_limits.updated',
    ], from);
    assert.ok(isSorted(order), `order: ${c.types(from).join(', ')}`);
    const firstAudio = c.events.findIndex((e, i) => i >= from && e.ev.type === 'response.output_audio.delta');
    assert.ok(firstAudio > order[3]! && firstAudio < order[5]!, 'audio deltas between content_part.added and output_audio.done');
    assert.deepEqual((await c.waitFor('response.content_part.added', () => true, { from }))['part'], { type: 'audio', transcript: '' });
    const r = done['response'];
    assert.deepEqual(r.output_modalities, ['audio']);
    assert.deepEqual(r.audio.output.format, { type: 'audio/pcm', rate: 24000 });
    assert.deepEqual(r.output[0].content, [{ type: 'output_audio', transcript: ANSWER }]);
    assert.equal((await c.waitFor('response.output_audio_transcript.done', () => true, { from }))['transcript'], ANSWER);
    assert.deepEqual((await c.waitFor('response.content_part.done', () => true, { from }))['part'], { type: 'audio', transcript: ANSWER });
    const bytes = audioBytes(c, r.id);
    assert.ok(bytes % 2 === 0 && bytes / 48_000 > 2, `${bytes} bytes of PCM16 24 kHz`);
    // The voice cannot change once the session has produced audio.
    assert.equal((await c.expectError({ type: 'session.update', session: { type: 'realtime', audio: { output: { voice: 'marin' } } } }))['error'].param, 'session.audio.output.voice');
    await c.close();
  });

  rec.test('output formats: audio/pcmu and audio/pcma (per response and per session) are G.711 at 8 kHz: one sixth of the PCM16 bytes', async () => {
    fake.chat = [{ text: 'One two three four five.' }];
    const c = await open();
    const pcm = (await textTurn(c, 'a'))['done']['response'];
    const ulaw = (await textTurn(c, 'b', { audio: { output: { format: { type: 'audio/pcmu' } } } }))['done']['response'];
    assert.deepEqual(ulaw.audio.output.format, { type: 'audio/pcmu' });
    await update(c, { audio: { output: { format: { type: 'audio/pcma' } } } });
    const alaw = (await textTurn(c, 'c'))['done']['response'];
    assert.deepEqual(alaw.audio.output.format, { type: 'audio/pcma' });
    const [p, u, a] = [audioBytes(c, pcm.id), audioBytes(c, ulaw.id), audioBytes(c, alaw.id)];
    for (const g of [u, a]) assert.ok(Math.abs(p / g - 6) < 0.1, `PCM16 ${p} bytes vs G.711 ${g} bytes`);
    await c.close();
  });
});

describe('GA response.create options', () => {
  rec.test('per-response instructions, output_modalities, voice, tools, tool_choice, max_output_tokens, metadata override the session for that response only', async () => {
    fake.chat = [{ text: 'Fine.' }];
    const c = await open({ instructions: 'Session instructions.' });
    const reqFrom = fake.requests.length;
    const { from } = await textTurn(c, 'one', {
      instructions: 'Response instructions.',
      output_modalities: ['text'],
      audio: { output: { voice: 'cedar' } },
      tools: TOOLS,
      tool_choice: 'required',
      max_output_tokens: 64,
      metadata: { purpose: 'conformance' },
    });
    const created = (await c.waitFor('response.created', () => true, { from }))['response'];
    assert.deepEqual(created.output_modalities, ['text']);
    assert.equal(created.audio.output.voice, 'cedar');
    assert.equal(created.max_output_tokens, 64);
    assert.deepEqual(created.metadata, { purpose: 'conformance' });
    assert.deepEqual((await c.waitFor('response.done', () => true, { from }))['response'].metadata, { purpose: 'conformance' });
    const [first] = chatRequests(fake, reqFrom);
    assert.deepEqual(first?.['messages'][0], { role: 'system', content: 'Response instructions.' });
    assert.equal(first?.['tools']?.[0]?.function?.name, 'get_weather');
    assert.equal(first?.['tool_choice'], 'required');
    assert.equal(first?.['max_tokens'], 64);
    // The next response is back to the session's settings.
    const next = await textTurn(c, 'two');
    const r = next.done['response'];
    assert.deepEqual(r.output_modalities, ['audio']);
    assert.equal(r.audio.output.voice, 'alloy');
    assert.equal(r.metadata, null);
    const second = chatRequests(fake, reqFrom).at(-1);
    assert.deepEqual(second?.['messages'][0], { role: 'system', content: 'Session instructions.' });
    assert.equal(second?.['tools'], undefined);
    await c.close();
  });

  rec.test('out-of-band: conversation "none" with an input array runs beside the default response; conversation_id null; nothing joins the conversation', async () => {
    fake.chat = [{ text: 'Working on it. ' }, { text: 'Done now.', delayMs: 1_200 }];
    const c = await open({ output_modalities: ['text'] });
    const from = c.mark();
    c.send({ type: 'conversation.item.create', item: { id: 'msg_user_1', type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Tell me a story.' }] } });
    c.send({ type: 'response.create' });
    const main = (await c.waitFor('response.created', () => true, { from }))['response'].id;
    const reqFrom = fake.requests.length;
    c.send({
      type: 'response.create',
      response: {
        conversation: 'none',
        output_modalities: ['text'],
        metadata: { topic: 'classification' },
        instructions: 'Classify the topic.',
        input: [{ type: 'item_reference', id: 'msg_user_1' }, { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Only one word.' }] }],
      },
    });
    const oob = await c.waitFor('response.created', (e) => e['response'].id !== main, { from });
    assert.equal(oob['response'].conversation_id, null);
    const oobDone = (await c.waitFor('response.done', (e) => e['response'].id === oob['response'].id, { from, timeoutMs: 20_000 }))['response'];
    assert.equal(oobDone.status, 'completed');
    assert.deepEqual(oobDone.metadata, { topic: 'classification' });
    const mainDone = (await c.waitFor('response.done', (e) => e['response'].id === main, { from, timeoutMs: 20_000 }))['response'];
    assert.equal(mainDone.status, 'completed');
    const oobItem = oobDone.output[0].id;
    assert.ok(!c.all('conversation.item.added').some((e) => e['item'].id === oobItem), 'no conversation.item.added for out-of-band output');
    const ask = chatRequests(fake, reqFrom).find((r) => r['messages'][0]?.content === 'Classify the topic.');
    assert.deepEqual(ask?.['messages'].slice(1), [{ role: 'user', content: 'Tell me a story.' }, { role: 'user', content: 'Only one word.' }]);
    assert.equal((await c.expectError({ type: 'conversation.item.retrieve', item_id: oobItem }))['error'].param, 'item_id');
    const badRef = await c.expectError({ type: 'response.create', response: { conversation: 'none', input: [{ type: 'item_reference', id: 'item_not_there' }] } });
    assert.equal(badRef['error'].param, 'response.input[0].id');
    // input: [] is an empty context.
    const emptyFrom = fake.requests.length;
    const empty = c.mark();
    c.send({ type: 'response.create', response: { conversation: 'none', input: [], instructions: 'Say hi.' } });
    await c.waitFor('response.done', () => true, { from: empty, timeoutMs: 20_000 });
    assert.deepEqual(chatRequests(fake, emptyFrom)[0]?.['messages'], [{ role: 'system', content: 'Say hi.' }]);
    await c.close();
  });
});

describe('GA response limits', () => {
  rec.test('response.create refusals name the parameter: beta fields, bad enum values, too much metadata, token cap out of range', async () => {
    const c = await open();
    const cases: Array<[Record<string, unknown>, string, string?]> = [
      [{ modalities: ['text'] }, 'response.modalities', 'unknown_parameter'],
      [{ voice: 'alloy' }, 'response.voice', 'unknown_parameter'],
      [{ temperature: 0.8 }, 'response.temperature', 'unknown_parameter'],
      [{ conversation: 'other' }, 'response.conversation'],
      [{ max_output_tokens: 0 }, 'response.max_output_tokens'],
      [{ metadata: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v'])) }, 'response.metadata'],
      [{ audio: { output: { format: { type: 'audio/pcm', rate: 16000 } } } }, 'response.audio.output.format.rate'],
    ];
    for (const [response, param, code] of cases) {
      const err = (await c.expectError({ type: 'response.create', response }))['error'];
      assert.equal(err.param, param, `${JSON.stringify(response).slice(0, 60)}: ${err.code} ${err.message}`);
      if (code) assert.equal(err.code, code);
    }
    assert.equal(c.all('response.created').length, 0);
    await c.close();
  });

  rec.test('response.create output_modalities takes exactly one of ["audio"] or ["text"]: both is refused (param response.output_modalities)', async () => {
    fake.chat = [{ text: 'Ok.' }];
    const c = await open();
    const from = c.mark();
    c.send({ type: 'response.create', event_id: 'evt_both', response: { output_modalities: ['text', 'audio'] } });
    const first = await c.waitFor('*', (e) => e.type === 'response.created' || e.type === 'error', { from });
    assert.equal(first.type, 'error', 'refused, not answered');
    assert.equal(first['error'].param, 'response.output_modalities');
    await c.close();
  });

  rec.test('the model stops at max_output_tokens: response.done status incomplete, status_details {type: incomplete, reason: max_output_tokens}', async () => {
    fake.chat = [{ text: 'This answer is cut off by the token' }];
    const c = await open({ output_modalities: ['text'], max_output_tokens: 8 });
    cutAtLength = true;
    try {
      const r = (await textTurn(c, 'Talk a lot.')).done['response'];
      assert.equal(r.status, 'incomplete');
      assert.deepEqual(r.status_details, { type: 'incomplete', reason: 'max_output_tokens' });
      assert.equal(r.output[0].status, 'incomplete');
    } finally {
      cutAtLength = false;
      await c.close();
    }
  });
});

describe('GA one response at a time, and response.cancel', () => {
  rec.test('a second response.create while one is active: conversation_already_has_active_response (event_id kept); the first one carries on', async () => {
    fake.chat = [{ text: 'Slow start. ' }, { text: 'Slow end.', delayMs: 800 }];
    const c = await open({ output_modalities: ['text'] });
    const from = c.mark();
    c.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'go' }] } });
    c.send({ type: 'response.create' });
    const first = (await c.waitFor('response.created', () => true, { from }))['response'].id;
    const err = (await c.expectError({ type: 'response.create', event_id: 'evt_second_response' }))['error'];
    assert.equal(err.code, 'conversation_already_has_active_response');
    assert.equal(err.event_id, 'evt_second_response');
    assert.ok(err.message.includes(first), 'the message names the active response');
    assert.equal((await c.waitFor('response.done', () => true, { from }))['response'].status, 'completed');
    assert.equal(c.all('response.created').length, 1);
    await c.close();
  });

  rec.test('response.cancel: the open parts and items end (incomplete), then response.done cancelled / client_cancelled; no audio after it; a second cancel -> response_cancel_not_active', async () => {
    fake.chat = [{ text: 'This first sentence is spoken right away. ' }, { text: 'This one comes far too late.', delayMs: 3_000 }];
    const c = await open();
    const from = c.mark();
    c.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'talk' }] } });
    c.send({ type: 'response.create' });
    const id = (await c.waitFor('response.created', () => true, { from }))['response'].id;
    await c.waitFor('response.output_audio.delta', () => true, { from });
    c.send({ type: 'response.cancel', response_id: id });
    const done = (await c.waitFor('response.done', () => true, { from }))['response'];
    assert.equal(done.status, 'cancelled');
    assert.deepEqual(done.status_details, { type: 'cancelled', reason: 'client_cancelled' });
    assert.equal(done.output[0].status, 'incomplete');
    const order = orderOf(c, ['response.output_audio.done', 'response.output_audio_transcript.done', 'response.content_part.done', ['conversation.item.done', (e) => e['item'].role === 'assistant'], 'response.output_item.done', 'response.done'], from);
    assert.ok(isSorted(order), `order: ${c.types(from).join(', ')}`);
    assert.equal((await c.waitFor('conversation.item.done', (e) => e['item'].role === 'assistant', { from }))['item'].status, 'incomplete');
    assert.equal((await c.waitFor('response.output_item.done', () => true, { from }))['item'].status, 'incomplete');
    const err = (await c.expectError({ type: 'response.cancel' }))['error'];
    assert.equal(err.code, 'response_cancel_not_active');
    assert.equal((await c.expectError({ type: 'response.cancel', response_id: 'resp_unknown' }))['error'].code, 'response_cancel_not_active');
    await new Promise((r) => setTimeout(r, 500));
    const doneAt = c.events.findIndex((e) => e.ev.type === 'response.done' && e.ev['response'].id === id);
    assert.ok(!c.events.slice(doneAt).some((e) => e.ev['response_id'] === id), 'nothing of the cancelled response after response.done');
    await c.close();
  });
});

describe('GA function calling', () => {
  rec.test('function_call items with arguments delta/done (name, call_id); function_call_output + response.create continues the turn', async () => {
    fake.chat = [{ toolCall: { id: 'call_weather_1', name: 'get_weather', arguments: '{"city":"Paris"}' } }, { toolCall: { id: 'call_time_2', name: 'get_weather', arguments: '{"city":"Rome"}' } }];
    const c = await open({ output_modalities: ['text'], tools: TOOLS });
    const { from, done } = await textTurn(c, 'Weather in Paris and Rome?');
    const r = done['response'];
    assert.equal(r.status, 'completed');
    assert.deepEqual(r.output.map((i: Ev) => [i.type, i.call_id, i.name, i.arguments, i.status]), [
      ['function_call', 'call_weather_1', 'get_weather', '{"city":"Paris"}', 'completed'],
      ['function_call', 'call_time_2', 'get_weather', '{"city":"Rome"}', 'completed'],
    ]);
    for (const [index, item] of r.output.entries() as Iterable<[number, Ev]>) {
      const is = (e: Ev) => (e['item']?.id ?? e['item_id']) === item['id'];
      const added = await c.waitFor('response.output_item.added', is, { from });
      assert.equal(added['output_index'], index);
      assert.deepEqual(added['item'], { id: item['id'], object: 'realtime.item', type: 'function_call', status: 'in_progress', call_id: item['call_id'], name: 'get_weather', arguments: '' });
      const order = orderOf(c, [['response.output_item.added', is], ['conversation.item.added', is], ['response.function_call_arguments.delta', is], ['response.function_call_arguments.done', is], ['conversation.item.done', is], ['response.output_item.done', is]], from);
      assert.ok(isSorted(order), `order for ${item['call_id']}: ${c.types(from).join(', ')}`);
      const deltas = c.all('response.function_call_arguments.delta', is);
      for (const d of deltas) assert.deepEqual([d['call_id'], d['response_id'], d['output_index']], [item['call_id'], r.id, index]);
      assert.equal(deltas.map((d) => d['delta']).join(''), item['arguments']);
      const argsDone = await c.waitFor('response.function_call_arguments.done', is, { from });
      assert.deepEqual([argsDone['name'], argsDone['call_id'], argsDone['arguments'], argsDone['output_index']], ['get_weather', item['call_id'], item['arguments'], index]);
    }
    assert.ok(!c.types(from).includes('response.content_part.added'), 'a function call has no content parts');
    fake.chat = [{ text: 'Sunny in Paris, rainy in Rome.' }];
    const reqFrom = fake.requests.length;
    const next = c.mark();
    c.send({ type: 'conversation.item.create', item: { type: 'function_call_output', call_id: 'call_weather_1', output: '{"sky":"sunny"}' } });
    c.send({ type: 'conversation.item.create', item: { type: 'function_call_output', call_id: 'call_time_2', output: '{"sky":"rain"}' } });
    c.send({ type: 'response.create' });
    const after = (await c.waitFor('response.done', () => true, { from: next }))['response'];
    assert.deepEqual(after.output[0].content, [{ type: 'output_text', text: 'Sunny in Paris, rainy in Rome.' }]);
    const messages = chatRequests(fake, reqFrom)[0]?.['messages'] as Ev[];
    const calls = messages.find((m) => m['tool_calls'])?.['tool_calls'] as Ev[];
    assert.deepEqual(calls.map((t) => [t['id'], t['function'].name, t['function'].arguments]), [['call_weather_1', 'get_weather', '{"city":"Paris"}'], ['call_time_2', 'get_weather', '{"city":"Rome"}']]);
    assert.deepEqual(messages.filter((m) => m['role'] === 'tool'), [{ role: 'tool', tool_call_id: 'call_weather_1', content: '{"sky":"sunny"}' }, { role: 'tool', tool_call_id: 'call_time_2', content: '{"sky":"rain"}' }]);
    await c.close();
  });
});

describe('GA conversation.item.truncate', () => {
  rec.test('truncate cuts the assistant audio and transcript at the played position; out-of-range and non-assistant truncates are refused', async () => {
    fake.chat = [{ text: ANSWER }];
    const c = await open();
    const { done } = await textTurn(c, 'Tell me.');
    const item = done['response'].output[0];
    const audioMs = audioBytes(c, done['response'].id) / 48;
    const played = Math.floor(audioMs / 2);
    const from = c.mark();
    c.send({ type: 'conversation.item.truncate', item_id: item.id, content_index: 0, audio_end_ms: played });
    const truncated = await c.waitFor('conversation.item.truncated', () => true, { from });
    assert.deepEqual([truncated['item_id'], truncated['content_index'], truncated['audio_end_ms']], [item.id, 0, played]);
    c.send({ type: 'conversation.item.retrieve', item_id: item.id });
    const kept = (await c.waitFor('conversation.item.retrieved', () => true, { from }))['item'].content[0].transcript as string;
    assert.ok(ANSWER.startsWith(kept) && kept.length > 0 && kept.length < ANSWER.length * 0.75, `kept "${kept}" of ${audioMs.toFixed(0)} ms, played ${played} ms`);
    const userId = c.all('conversation.item.added', (e) => e['item'].role === 'user')[0]!['item'].id;
    const refusals: Array<[Record<string, unknown>, string]> = [
      [{ item_id: item.id, content_index: 0, audio_end_ms: Math.ceil(audioMs) + 1_000 }, 'audio_end_ms'],
      [{ item_id: item.id, content_index: 1, audio_end_ms: 10 }, 'content_index'],
      [{ item_id: userId, content_index: 0, audio_end_ms: 10 }, 'item_id'],
      [{ item_id: 'item_missing', content_index: 0, audio_end_ms: 10 }, 'item_id'],
    ];
    for (const [ev, param] of refusals) assert.equal((await c.expectError({ type: 'conversation.item.truncate', ...ev }))['error'].param, param);
    // The model now only knows what was heard.
    const reqFrom = fake.requests.length;
    await textTurn(c, 'And then?');
    const assistant = (chatRequests(fake, reqFrom)[0]?.['messages'] as Ev[]).find((m) => m['role'] === 'assistant');
    assert.equal(assistant?.['content'], kept);
    await c.close();
  });
});
