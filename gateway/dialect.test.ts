// Tests for GA vs beta on the wire: GA events pass through untouched; beta renames events, item
// content types and response objects, drops conversation.item.done, and has its own client events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ItemMessage } from '../schemas/index.ts';
import { dialectFor } from './dialect.ts';
import { applyBetaUpdate, defaultSession } from './session-config.ts';

const gaDialect = dialectFor('ga');
const betaDialect = dialectFor('beta');

const assistant = (content: ItemMessage['content']): ItemMessage => ({ id: 'item_a', object: 'realtime.item', type: 'message', status: 'completed', role: 'assistant', content });
const ids = { event_id: 'event_1', response_id: 'resp_1', item_id: 'item_a', output_index: 0, content_index: 0 };
const response = (over: Record<string, unknown> = {}) => ({
  object: 'realtime.response',
  id: 'resp_1',
  status: 'completed',
  status_details: null,
  output: [assistant([{ type: 'output_audio', transcript: 'Hi.' }])],
  conversation_id: 'conv_1',
  output_modalities: ['audio'],
  max_output_tokens: 'inf',
  audio: { output: { format: { type: 'audio/pcm', rate: 24000 }, voice: 'marin' } },
  usage: null,
  metadata: null,
  ...over,
});

const SAMPLE_EVENTS: Array<Record<string, unknown>> = [
  { type: 'response.output_audio.delta', ...ids, delta: 'AAAA' },
  { type: 'conversation.item.added', event_id: 'event_2', previous_item_id: null, item: assistant([]) },
  { type: 'conversation.item.done', event_id: 'event_3', previous_item_id: null, item: assistant([{ type: 'output_text', text: 'x' }]) },
  { type: 'response.done', event_id: 'event_4', response: response() },
  { type: 'input_audio_buffer.speech_started', event_id: 'event_5', audio_start_ms: 100, item_id: 'item_u' },
];

test('GA render passes events through unchanged, except the beta-only response temperature', () => {
  for (const e of SAMPLE_EVENTS) {
    const out = gaDialect.render(e)!;
    if (!e['response']) assert.equal(out, e);
    else assert.deepEqual(out, { ...e, response: Object.fromEntries(Object.entries(e['response'] as object).filter(([k]) => k !== 'temperature')) });
  }
  const withTemp = gaDialect.render({ type: 'response.created', event_id: 'e', response: { id: 'r', temperature: 0.8 } })!;
  assert.deepEqual(withTemp['response'], { id: 'r' });
  assert.equal(gaDialect.kind, 'ga');
});

test('beta renames the GA output events', () => {
  const rows: Array<[string, string]> = [
    ['response.output_audio.delta', 'response.audio.delta'],
    ['response.output_audio.done', 'response.audio.done'],
    ['response.output_audio_transcript.delta', 'response.audio_transcript.delta'],
    ['response.output_audio_transcript.done', 'response.audio_transcript.done'],
    ['response.output_text.delta', 'response.text.delta'],
    ['response.output_text.done', 'response.text.done'],
    ['conversation.item.added', 'conversation.item.created'],
  ];
  for (const [gaType, betaType] of rows) {
    const out = betaDialect.render({ type: gaType, ...ids, delta: 'd' });
    assert.ok(out, gaType);
    assert.equal(out['type'], betaType);
    assert.equal(out['event_id'], 'event_1', 'other fields are kept');
    assert.equal(out['delta'], 'd');
  }
});

test('beta keeps shared event names', () => {
  for (const type of [
    'response.created',
    'response.content_part.added',
    'response.output_item.done',
    'response.function_call_arguments.done',
    'input_audio_buffer.speech_started',
    'input_audio_buffer.committed',
    'conversation.item.input_audio_transcription.completed',
    'conversation.item.truncated',
    'conversation.item.deleted',
    'error',
  ]) {
    assert.equal(betaDialect.render({ type, event_id: 'e' })?.['type'], type);
  }
});

test('beta drops conversation.item.done', () => {
  assert.equal(betaDialect.render({ type: 'conversation.item.done', previous_item_id: null, item: assistant([]) }), null);
});

test('beta item content: output_audio -> audio, output_text -> text, input parts unchanged', () => {
  const item = assistant([
    { type: 'output_audio', transcript: 'spoken' },
    { type: 'output_text', text: 'typed' },
  ]);
  for (const type of ['conversation.item.added', 'response.output_item.added', 'response.output_item.done', 'conversation.item.retrieved']) {
    const out = betaDialect.render({ type, item });
    assert.deepEqual((out?.['item'] as ItemMessage).content, [
      { type: 'audio', transcript: 'spoken' },
      { type: 'text', text: 'typed' },
    ]);
  }
  const user: ItemMessage = { ...assistant([{ type: 'input_text', text: 'a' }, { type: 'input_audio', transcript: null }]), role: 'user' };
  assert.deepEqual((betaDialect.render({ type: 'conversation.item.added', item: user })?.['item'] as ItemMessage).content, user.content);
  const fn = { id: 'item_f', object: 'realtime.item', type: 'function_call', status: 'completed', call_id: 'c', name: 'n', arguments: '{}' };
  assert.deepEqual(betaDialect.render({ type: 'response.output_item.done', item: fn })?.['item'], fn);
});

test('beta response objects: modalities, voice, output_audio_format; items renamed; GA keys gone', () => {
  const rows: Array<[Record<string, unknown>, Record<string, unknown>]> = [
    [response(), { modalities: ['text', 'audio'], voice: 'marin', output_audio_format: 'pcm16' }],
    [response({ output_modalities: ['text'], output: [] }), { modalities: ['text'] }],
    [response({ audio: { output: { format: { type: 'audio/pcmu' }, voice: 'ash' } } }), { voice: 'ash', output_audio_format: 'g711_ulaw' }],
    [response({ audio: { output: { format: { type: 'audio/pcma' }, voice: 'ash' } } }), { output_audio_format: 'g711_alaw' }],
  ];
  for (const type of ['response.created', 'response.done']) {
    for (const [r, expected] of rows) {
      const out = betaDialect.render({ type, event_id: 'e', response: r })?.['response'] as Record<string, unknown>;
      for (const [k, v] of Object.entries(expected)) assert.deepEqual(out[k], v, `${type} ${k}`);
      assert.equal('output_modalities' in out, false);
      assert.equal('audio' in out, false);
      assert.equal(out['id'], 'resp_1');
      assert.equal(out['status'], r['status']);
    }
  }
  const done = betaDialect.render({ type: 'response.done', response: response() })?.['response'] as { output: ItemMessage[] };
  assert.deepEqual(done.output[0]?.content, [{ type: 'audio', transcript: 'Hi.' }]);
});

test('beta render does not modify the GA event it was given', () => {
  for (const e of SAMPLE_EVENTS) {
    const before = structuredClone(e);
    betaDialect.render(e);
    assert.deepEqual(e, before, String(e['type']));
  }
});

test('beta session events for a transcription session are named transcription_session.*', () => {
  const tx = defaultSession({ id: 'sess_t', model: 'm', type: 'transcription', expiresAt: 1 });
  const rt = applyBetaUpdate(defaultSession({ id: 'sess_r', model: 'm', type: 'realtime', expiresAt: 1 }), {}, { audioProduced: false });
  for (const type of ['session.created', 'session.updated']) {
    assert.equal(betaDialect.render({ type, session: betaDialect.renderSession(tx) })?.['type'], type.replace('session.', 'transcription_session.'));
    assert.equal(betaDialect.render({ type, session: betaDialect.renderSession(rt) })?.['type'], type);
    assert.equal(gaDialect.render({ type, session: gaDialect.renderSession(tx) })?.['type'], type);
  }
  assert.equal((betaDialect.renderSession(rt) as { modalities: string[] }).modalities.length, 2);
  assert.equal(gaDialect.renderSession(rt)['type'], 'realtime');
});

test('validator(type): the client events of each interface', () => {
  const common = [
    'session.update',
    'input_audio_buffer.append',
    'input_audio_buffer.commit',
    'input_audio_buffer.clear',
    'conversation.item.create',
    'conversation.item.retrieve',
    'conversation.item.truncate',
    'conversation.item.delete',
    'response.create',
    'response.cancel',
  ];
  for (const d of [gaDialect, betaDialect]) {
    for (const type of common) {
      assert.ok(d.validator(type), `${d.kind} ${type}`);
      assert.ok(d.supportedTypes.includes(type), `${d.kind} lists ${type}`);
    }
    for (const type of ['bogus', 'session.created', 'response.done', '', 'constructor', '__proto__', 'toString']) {
      assert.equal(d.validator(type), undefined, `${d.kind} ${type}`);
    }
  }
  assert.ok(betaDialect.validator('transcription_session.update'));
  assert.ok(betaDialect.supportedTypes.includes('transcription_session.update'));
  assert.equal(gaDialect.validator('transcription_session.update'), undefined);
  assert.equal(gaDialect.supportedTypes.includes('transcription_session.update'), false);
});

test('validator(type): GA and beta session.update accept their own shapes only', () => {
  const gaPayload = { type: 'session.update', session: { type: 'realtime', output_modalities: ['text'] } };
  const betaPayload = { type: 'session.update', session: { modalities: ['text'] } };
  assert.equal(gaDialect.validator('session.update')?.check(gaPayload), true);
  assert.equal(gaDialect.validator('session.update')?.check(betaPayload), false);
  assert.equal(betaDialect.validator('session.update')?.check(betaPayload), true);
  assert.equal(betaDialect.validator('session.update')?.check(gaPayload), false);
  const r = betaDialect.validator('response.create')?.validate({ type: 'response.create', response: { output_modalities: ['text'] } });
  assert.equal(r?.ok, false);
  if (r && !r.ok) assert.equal(r.error.param, 'response.output_modalities');
});
