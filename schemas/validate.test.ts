// Tests for the compiled Realtime validators: OpenAI's error codes, wording and `param` paths for
// bad client events (tables of payload -> failure), and that payloads real clients send pass.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OpenAIRealtimeWebSocket } from '@openai/agents-realtime';
import { ClientEventsBeta, ClientEventsGa, compileValidator, toParam, type ValidationFailure, type Validator } from './index.ts';

const ga = {
  sessionUpdate: compileValidator(ClientEventsGa['session.update']),
  itemCreate: compileValidator(ClientEventsGa['conversation.item.create']),
  responseCreate: compileValidator(ClientEventsGa['response.create']),
  truncate: compileValidator(ClientEventsGa['conversation.item.truncate']),
  append: compileValidator(ClientEventsGa['input_audio_buffer.append']),
};
const beta = {
  sessionUpdate: compileValidator(ClientEventsBeta['session.update']),
  transcriptionUpdate: compileValidator(ClientEventsBeta['transcription_session.update']),
  responseCreate: compileValidator(ClientEventsBeta['response.create']),
};

const gaSession = (session: Record<string, unknown>) => ({ type: 'session.update', session: { type: 'realtime', ...session } });
const gaInput = (input: Record<string, unknown>) => gaSession({ audio: { input } });
const userText = (extra: Record<string, unknown> = {}) => ({ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hi' }], ...extra });

function failure(v: Validator<unknown>, payload: unknown): ValidationFailure {
  const r = v.validate(payload);
  assert.equal(r.ok, false, `expected ${JSON.stringify(payload)} to be refused`);
  assert.equal(v.check(payload), false);
  if (r.ok) throw new Error('unreachable');
  return r.error;
}

interface FailureRow {
  readonly name: string;
  readonly v: Validator<unknown>;
  readonly payload: unknown;
  readonly code: string;
  readonly param: string | null;
  /** Exact message when given, else a fragment it must contain. */
  readonly message?: string;
  readonly contains?: string;
}

const FAILURES: FailureRow[] = [
  {
    name: 'unknown key in session',
    v: ga.sessionUpdate,
    payload: gaSession({ bogus: 1 }),
    code: 'unknown_parameter',
    param: 'session.bogus',
    message: "Unknown parameter: 'session.bogus'.",
  },
  {
    name: 'beta field on a GA socket',
    v: ga.sessionUpdate,
    payload: gaSession({ modalities: ['audio'] }),
    code: 'unknown_parameter',
    param: 'session.modalities',
    message: "Unknown parameter: 'session.modalities'.",
  },
  {
    name: 'beta turn_detection at the top level on a GA socket',
    v: ga.sessionUpdate,
    payload: gaSession({ turn_detection: null }),
    code: 'unknown_parameter',
    param: 'session.turn_detection',
  },
  {
    name: 'missing session.type',
    v: ga.sessionUpdate,
    payload: { type: 'session.update', session: { instructions: 'x' } },
    code: 'missing_required_parameter',
    param: 'session.type',
    message: "Missing required parameter: 'session.type'.",
  },
  {
    name: 'missing session',
    v: ga.sessionUpdate,
    payload: { type: 'session.update' },
    code: 'missing_required_parameter',
    param: 'session',
    message: "Missing required parameter: 'session'.",
  },
  {
    name: 'session.type enum',
    v: ga.sessionUpdate,
    payload: { type: 'session.update', session: { type: 'session' } },
    code: 'invalid_value',
    param: 'session.type',
    message: "Invalid value: 'session'. Supported values are: 'realtime' and 'transcription'.",
  },
  {
    name: 'instructions of the wrong type',
    v: ga.sessionUpdate,
    payload: gaSession({ instructions: 5 }),
    code: 'invalid_type',
    param: 'session.instructions',
    message: "Invalid type for 'session.instructions': expected a string, but got an integer instead.",
  },
  {
    name: 'session is null',
    v: ga.sessionUpdate,
    payload: { type: 'session.update', session: null },
    code: 'invalid_type',
    param: 'session',
    contains: 'got null instead',
  },
  {
    name: 'PCM at 16 kHz',
    v: ga.sessionUpdate,
    payload: gaInput({ format: { type: 'audio/pcm', rate: 16000 } }),
    code: 'integer_below_min_value',
    param: 'session.audio.input.format.rate',
    message: "Invalid 'session.audio.input.format.rate': integer below minimum value. Expected a value >= 24000, but got 16000 instead.",
  },
  {
    name: 'PCM at 48 kHz',
    v: ga.sessionUpdate,
    payload: gaSession({ audio: { output: { format: { type: 'audio/pcm', rate: 48000 } } } }),
    code: 'integer_above_max_value',
    param: 'session.audio.output.format.rate',
    contains: 'Expected a value <= 24000',
  },
  {
    name: 'unknown audio format type (discriminated union, no Null)',
    v: ga.sessionUpdate,
    payload: gaInput({ format: { type: 'audio/wav' } }),
    code: 'invalid_value',
    param: 'session.audio.input.format.type',
    message: "Invalid value: 'audio/wav'. Supported values are: 'audio/pcm', 'audio/pcmu' and 'audio/pcma'.",
  },
  {
    name: 'rate on a G.711 format',
    v: ga.sessionUpdate,
    payload: gaInput({ format: { type: 'audio/pcmu', rate: 8000 } }),
    code: 'unknown_parameter',
    param: 'session.audio.input.format.rate',
  },
  {
    name: 'speed below 0.25',
    v: ga.sessionUpdate,
    payload: gaSession({ audio: { output: { speed: 0.1 } } }),
    code: 'decimal_below_min_value',
    param: 'session.audio.output.speed',
    contains: 'Expected a value >= 0.25, but got 0.1 instead.',
  },
  {
    name: 'output_modalities value',
    v: ga.sessionUpdate,
    payload: gaSession({ output_modalities: ['video'] }),
    code: 'invalid_value',
    param: 'session.output_modalities[0]',
    message: "Invalid value: 'video'. Supported values are: 'text' and 'audio'.",
  },
  {
    name: 'tool name breaks the pattern (array path)',
    v: ga.sessionUpdate,
    payload: gaSession({ tools: [{ type: 'function', name: 'ok' }, { type: 'function', name: 'bad name' }] }),
    code: 'invalid_value',
    param: 'session.tools[1].name',
  },
  {
    name: 'mcp tools are not supported (only function tools)',
    v: ga.sessionUpdate,
    payload: gaSession({ tools: [{ type: 'mcp', server_label: 'x', server_url: 'https://example.com/mcp' }] }),
    code: 'invalid_value',
    param: 'session.tools[0].type',
  },
  {
    name: 'tool without a name (array path)',
    v: ga.sessionUpdate,
    payload: gaSession({ tools: [{ type: 'function' }] }),
    code: 'missing_required_parameter',
    param: 'session.tools[0].name',
    message: "Missing required parameter: 'session.tools[0].name'.",
  },
  {
    name: 'unknown key inside a tool',
    v: ga.sessionUpdate,
    payload: gaSession({ tools: [{ type: 'function', name: 'f', strict: true }] }),
    code: 'unknown_parameter',
    param: 'session.tools[0].strict',
  },
  {
    name: 'tool_choice function without a name',
    v: ga.sessionUpdate,
    payload: gaSession({ tool_choice: { type: 'function' } }),
    code: 'missing_required_parameter',
    param: 'session.tool_choice.name',
  },
  {
    name: 'a realtime-only field on a transcription session',
    v: ga.sessionUpdate,
    payload: { type: 'session.update', session: { type: 'transcription', instructions: 'x' } },
    code: 'unknown_parameter',
    param: 'session.instructions',
  },
  {
    name: 'retention ratio above 1',
    v: ga.sessionUpdate,
    payload: gaSession({ truncation: { type: 'retention_ratio', retention_ratio: 2 } }),
    code: 'decimal_above_max_value',
    param: 'session.truncation.retention_ratio',
  },
  {
    name: 'client event_id longer than 512',
    v: ga.sessionUpdate,
    payload: { ...gaSession({}), event_id: 'e'.repeat(600) },
    code: 'string_above_max_length',
    param: 'event_id',
  },
  {
    name: 'item id longer than 32',
    v: ga.itemCreate,
    payload: { type: 'conversation.item.create', item: userText({ id: 'x'.repeat(39) }) },
    code: 'string_above_max_length',
    param: 'item.id',
    message: "Invalid 'item.id': string too long. Expected a string with maximum length 32, but got a string with length 39 instead.",
  },
  {
    name: 'item role enum',
    v: ga.itemCreate,
    payload: { type: 'conversation.item.create', item: { type: 'message', role: 'robot', content: [] } },
    code: 'invalid_value',
    param: 'item.role',
    message: "Invalid value: 'robot'. Supported values are: 'user', 'assistant' and 'system'.",
  },
  {
    name: 'item type enum',
    v: ga.itemCreate,
    payload: { type: 'conversation.item.create', item: { type: 'mcp_call' } },
    code: 'invalid_value',
    param: 'item.type',
    contains: "Supported values are: 'message', 'function_call' and 'function_call_output'.",
  },
  {
    name: 'item without a type',
    v: ga.itemCreate,
    payload: { type: 'conversation.item.create', item: { role: 'user', content: [] } },
    code: 'missing_required_parameter',
    param: 'item.type',
  },
  {
    name: 'function_call_output without call_id',
    v: ga.itemCreate,
    payload: { type: 'conversation.item.create', item: { type: 'function_call_output', output: 'x' } },
    code: 'missing_required_parameter',
    param: 'item.call_id',
  },
  {
    name: 'unknown key inside a content part (nested arrays)',
    v: ga.itemCreate,
    payload: { type: 'conversation.item.create', item: userText({ content: [{ type: 'input_text', text: 'a' }, { type: 'input_text', text: 'b', extra: 1 }] }) },
    code: 'unknown_parameter',
    param: 'item.content[1].extra',
  },
  {
    name: 'content part type enum',
    v: ga.itemCreate,
    payload: { type: 'conversation.item.create', item: userText({ content: [{ type: 'video' }] }) },
    code: 'invalid_value',
    param: 'item.content[0].type',
  },
  {
    name: 'negative audio_end_ms',
    v: ga.truncate,
    payload: { type: 'conversation.item.truncate', item_id: 'item_1', content_index: 0, audio_end_ms: -5 },
    code: 'integer_below_min_value',
    param: 'audio_end_ms',
  },
  {
    name: 'fractional audio_end_ms',
    v: ga.truncate,
    payload: { type: 'conversation.item.truncate', item_id: 'item_1', content_index: 0, audio_end_ms: 1.5 },
    code: 'invalid_type',
    param: 'audio_end_ms',
    contains: 'expected an integer, but got a decimal instead',
  },
  {
    name: 'append without audio',
    v: ga.append,
    payload: { type: 'input_audio_buffer.append' },
    code: 'missing_required_parameter',
    param: 'audio',
  },
  {
    name: 'response.create conversation enum',
    v: ga.responseCreate,
    payload: { type: 'response.create', response: { conversation: 'default' } },
    code: 'invalid_value',
    param: 'response.conversation',
    message: "Invalid value: 'default'. Supported values are: 'auto' and 'none'.",
  },
  {
    name: 'item_reference without id',
    v: ga.responseCreate,
    payload: { type: 'response.create', response: { input: [userText(), { type: 'item_reference' }] } },
    code: 'missing_required_parameter',
    param: 'response.input[1].id',
  },
  {
    name: 'GA field on a beta socket',
    v: beta.sessionUpdate,
    payload: { type: 'session.update', session: { output_modalities: ['audio'] } },
    code: 'unknown_parameter',
    param: 'session.output_modalities',
  },
  {
    name: 'GA session.type on a beta socket',
    v: beta.sessionUpdate,
    payload: { type: 'session.update', session: { type: 'realtime' } },
    code: 'unknown_parameter',
    param: 'session.type',
  },
  {
    name: 'beta input_audio_format enum',
    v: beta.sessionUpdate,
    payload: { type: 'session.update', session: { input_audio_format: 'pcm24' } },
    code: 'invalid_value',
    param: 'session.input_audio_format',
    message: "Invalid value: 'pcm24'. Supported values are: 'pcm16', 'g711_ulaw' and 'g711_alaw'.",
  },
  {
    name: 'beta temperature above 1.2',
    v: beta.sessionUpdate,
    payload: { type: 'session.update', session: { temperature: 2 } },
    code: 'decimal_above_max_value',
    param: 'session.temperature',
  },
];

for (const row of FAILURES) {
  test(`refused: ${row.name} -> ${row.code} at ${row.param}`, () => {
    const err = failure(row.v, row.payload);
    assert.equal(err.code, row.code, err.message);
    assert.equal(err.param, row.param);
    if (row.message !== undefined) assert.equal(err.message, row.message);
    if (row.contains !== undefined) assert.ok(err.message.includes(row.contains), err.message);
  });
}

// Errors inside Nullable(union) members (turn_detection, transcription, noise_reduction) and inside
// Union[Integer, Literal] point at the field itself, not at the union.
const NESTED_UNION_FAILURES: FailureRow[] = [
  {
    name: 'server_vad threshold above 1',
    v: ga.sessionUpdate,
    payload: gaInput({ turn_detection: { type: 'server_vad', threshold: 1.5 } }),
    code: 'decimal_above_max_value',
    param: 'session.audio.input.turn_detection.threshold',
  },
  {
    name: 'semantic_vad field on server_vad',
    v: ga.sessionUpdate,
    payload: gaInput({ turn_detection: { type: 'server_vad', eagerness: 'low' } }),
    code: 'unknown_parameter',
    param: 'session.audio.input.turn_detection.eagerness',
    message: "Unknown parameter: 'session.audio.input.turn_detection.eagerness'.",
  },
  {
    name: 'server_vad silence_duration_ms of the wrong type',
    v: ga.sessionUpdate,
    payload: gaInput({ turn_detection: { type: 'server_vad', silence_duration_ms: 'long' } }),
    code: 'invalid_type',
    param: 'session.audio.input.turn_detection.silence_duration_ms',
  },
  {
    name: 'server_vad idle_timeout_ms below 5000',
    v: ga.sessionUpdate,
    payload: gaInput({ turn_detection: { type: 'server_vad', idle_timeout_ms: 100 } }),
    code: 'integer_below_min_value',
    param: 'session.audio.input.turn_detection.idle_timeout_ms',
  },
  {
    name: 'semantic_vad eagerness enum',
    v: ga.sessionUpdate,
    payload: gaInput({ turn_detection: { type: 'semantic_vad', eagerness: 'max' } }),
    code: 'invalid_value',
    param: 'session.audio.input.turn_detection.eagerness',
    message: "Invalid value: 'max'. Supported values are: 'low', 'medium', 'high' and 'auto'.",
  },
  {
    name: 'turn_detection type enum',
    v: ga.sessionUpdate,
    payload: gaInput({ turn_detection: { type: 'magic_vad' } }),
    code: 'invalid_value',
    param: 'session.audio.input.turn_detection.type',
    message: "Invalid value: 'magic_vad'. Supported values are: 'server_vad' and 'semantic_vad'.",
  },
  {
    name: 'turn_detection without type',
    v: ga.sessionUpdate,
    payload: gaInput({ turn_detection: { threshold: 0.5 } }),
    code: 'missing_required_parameter',
    param: 'session.audio.input.turn_detection.type',
  },
  {
    name: 'unknown key in transcription',
    v: ga.sessionUpdate,
    payload: gaInput({ transcription: { model: 'whisper-1', bogus: 1 } }),
    code: 'unknown_parameter',
    param: 'session.audio.input.transcription.bogus',
  },
  {
    name: 'noise_reduction type enum',
    v: ga.sessionUpdate,
    payload: gaInput({ noise_reduction: { type: 'mid_field' } }),
    code: 'invalid_value',
    param: 'session.audio.input.noise_reduction.type',
  },
  {
    name: 'beta server_vad negative prefix padding',
    v: beta.sessionUpdate,
    payload: { type: 'session.update', session: { turn_detection: { type: 'server_vad', prefix_padding_ms: -1 } } },
    code: 'integer_below_min_value',
    param: 'session.turn_detection.prefix_padding_ms',
  },
  {
    name: 'max_output_tokens above 4096 (Union[Integer, Literal inf])',
    v: ga.sessionUpdate,
    payload: gaSession({ max_output_tokens: 5000 }),
    code: 'integer_above_max_value',
    param: 'session.max_output_tokens',
    message: "Invalid 'session.max_output_tokens': integer above maximum value. Expected a value <= 4096, but got 5000 instead.",
  },
  {
    name: 'custom voice id of the wrong type (Union[String, Object])',
    v: ga.sessionUpdate,
    payload: gaSession({ audio: { output: { voice: { id: 1 } } } }),
    code: 'invalid_type',
    param: 'session.audio.output.voice.id',
  },
  {
    name: 'metadata value longer than 512 (Nullable(Record))',
    v: ga.responseCreate,
    payload: { type: 'response.create', response: { metadata: { topic: 'x'.repeat(600) } } },
    code: 'string_above_max_length',
    param: 'response.metadata.topic',
  },
];

for (const row of NESTED_UNION_FAILURES) {
  test(`refused inside a union: ${row.name} -> ${row.code} at ${row.param}`, () => {
    const err = failure(row.v, row.payload);
    assert.equal(err.code, row.code, err.message);
    assert.equal(err.param, row.param);
    if (row.message !== undefined) assert.equal(err.message, row.message);
  });
}

test(
  'tool_choice outside the enum -> invalid_value listing the choices',
  () => {
    const err = failure(ga.sessionUpdate, gaSession({ tool_choice: 'sometimes' }));
    assert.equal(err.code, 'invalid_value', err.message);
    assert.equal(err.param, 'session.tool_choice');
    assert.ok(err.message.includes("'auto', 'none'"), err.message);
  },
);

test('refused: anything but null, server_vad or semantic_vad under turn_detection', () => {
  for (const td of [{ type: 'server_vad', threshold: 1.5 }, { type: 'magic_vad' }, { threshold: 0.5 }, 'server_vad', 5]) {
    const err = failure(ga.sessionUpdate, gaInput({ turn_detection: td }));
    assert.ok(err.param?.startsWith('session.audio.input.turn_detection'), String(err.param));
  }
});

test('validate never throws on non-object events', () => {
  for (const v of [null, undefined, 'session.update', 42, [], true]) {
    const err = failure(ga.sessionUpdate, v);
    assert.ok(err.code.length > 0);
    assert.ok(err.message.length > 0);
  }
});

test('toParam turns JSON pointers into OpenAI param paths', () => {
  const rows: Array<[string, string | null]> = [
    ['', null],
    ['/session', 'session'],
    ['/session/tools/0/name', 'session.tools[0].name'],
    ['/item/content/2/type', 'item.content[2].type'],
    ['/response/input/0/content/1', 'response.input[0].content[1]'],
    ['/session/tools/10/parameters', 'session.tools[10].parameters'],
    ['/response/metadata/a~1b', 'response.metadata.a/b'],
    ['/response/metadata/x~0y', 'response.metadata.x~y'],
    ['/0/x', '[0].x'],
  ];
  for (const [pointer, param] of rows) assert.equal(toParam(pointer), param, pointer);
});

/** What a client puts on the wire (undefined fields vanish). */
const wire = (v: unknown): unknown => JSON.parse(JSON.stringify(v));

test('accepted: GA session.update payloads built by @openai/agents-realtime', () => {
  const sdk = new OpenAIRealtimeWebSocket();
  const configs: Array<Parameters<typeof sdk.buildSessionPayload>[0]> = [
    {},
    { model: 'gpt-realtime', instructions: 'Be brief.', voice: 'marin' },
    { audio: { input: { turnDetection: { type: 'semantic_vad', modelVersion: 'default' } } } },
    { audio: { input: { turnDetection: { type: 'semantic_vad', eagerness: 'high', createResponse: true, interruptResponse: false } } } },
    { audio: { input: { turnDetection: { type: 'server_vad', threshold: 0.6, prefixPaddingMs: 200, silenceDurationMs: 400, idleTimeoutMs: 6000 } } } },
    { audio: { input: { format: { type: 'audio/pcmu' }, noiseReduction: { type: 'near_field' } }, output: { format: { type: 'audio/pcma' } } } },
    { outputModalities: ['text'], toolChoice: 'required' },
    { tools: [{ type: 'function', name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } }] as never },
  ];
  for (const config of configs) {
    const payload = wire({ type: 'session.update', session: sdk.buildSessionPayload(config) });
    const r = ga.sessionUpdate.validate(payload);
    assert.ok(r.ok, `${JSON.stringify(payload)} -> ${r.ok ? '' : JSON.stringify(r.error)}`);
  }
});

test('accepted: the exact semantic_vad turn_detection agents-realtime sends', () => {
  const payload = gaInput({ turn_detection: { type: 'semantic_vad', model_version: 'default' }, transcription: { model: 'gpt-4o-mini-transcribe' } });
  assert.ok(ga.sessionUpdate.check(payload));
});

const ACCEPTED: Array<[string, Validator<unknown>, unknown]> = [
  ['GA tracing toggle (agents-realtime)', ga.sessionUpdate, { type: 'session.update', session: { type: 'realtime', tracing: 'auto' } }],
  ['GA tracing off', ga.sessionUpdate, { type: 'session.update', session: { type: 'realtime', tracing: null } }],
  [
    'GA live default turn_detection echoed back',
    ga.sessionUpdate,
    gaInput({ turn_detection: { type: 'server_vad', threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 200, idle_timeout_ms: null, create_response: true, interrupt_response: true } }),
  ],
  ['GA manual turns', ga.sessionUpdate, gaInput({ turn_detection: null, transcription: null, noise_reduction: null })],
  ['GA clears instructions and tools', ga.sessionUpdate, gaSession({ instructions: '', tools: [], max_output_tokens: 'inf', voice: undefined })],
  ['GA custom voice object', ga.sessionUpdate, gaSession({ audio: { output: { voice: { id: 'voice_123' } } } })],
  [
    'GA transcription session',
    ga.sessionUpdate,
    {
      type: 'session.update',
      session: {
        type: 'transcription',
        audio: { input: { format: { type: 'audio/pcm', rate: 24000 }, transcription: { model: 'gpt-4o-transcribe', language: 'en', prompt: null }, turn_detection: { type: 'server_vad' } } },
        include: ['item.input_audio_transcription.logprobs'],
      },
    },
  ],
  [
    // openai-realtime-api-beta (2024 reference client) lib/client.js defaultSessionConfig + updateSession.
    'beta reference-client defaults',
    beta.sessionUpdate,
    {
      type: 'session.update',
      session: {
        modalities: ['text', 'audio'],
        instructions: '',
        voice: 'verse',
        input_audio_format: 'pcm16',
        output_audio_format: 'pcm16',
        input_audio_transcription: null,
        turn_detection: null,
        tools: [],
        tool_choice: 'auto',
        temperature: 0.8,
        max_response_output_tokens: 4096,
      },
    },
  ],
  [
    'beta server_vad with whisper transcription',
    beta.sessionUpdate,
    { type: 'session.update', session: { turn_detection: { type: 'server_vad' }, input_audio_transcription: { model: 'whisper-1' }, input_audio_format: 'g711_ulaw' } },
  ],
  [
    'beta transcription_session.update',
    beta.transcriptionUpdate,
    {
      type: 'transcription_session.update',
      session: {
        input_audio_format: 'pcm16',
        input_audio_transcription: { model: 'gpt-4o-transcribe', prompt: '', language: 'en' },
        turn_detection: { type: 'server_vad', threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 500 },
        input_audio_noise_reduction: { type: 'near_field' },
        include: ['item.input_audio_transcription.logprobs'],
      },
    },
  ],
  ['beta response.create with legacy fields', beta.responseCreate, { type: 'response.create', response: { modalities: ['text'], voice: 'alloy', output_audio_format: 'g711_alaw', max_response_output_tokens: 'inf' } }],
  ['GA empty response.create', ga.responseCreate, { type: 'response.create' }],
  [
    'GA out-of-band response with metadata and input',
    ga.responseCreate,
    {
      type: 'response.create',
      event_id: 'evt_1',
      response: { conversation: 'none', metadata: { topic: 'x' }, output_modalities: ['text'], input: [{ type: 'item_reference', id: 'item_1' }, userText()], audio: { output: { format: { type: 'audio/pcmu' }, voice: 'ash' } } },
    },
  ],
  ['GA item at the root', ga.itemCreate, { type: 'conversation.item.create', previous_item_id: 'root', item: userText({ id: 'x'.repeat(32) }) }],
  ['GA function_call_output', ga.itemCreate, { type: 'conversation.item.create', item: { type: 'function_call_output', call_id: 'call_1', output: '{"ok":true}' } }],
  ['GA truncate', ga.truncate, { type: 'conversation.item.truncate', item_id: 'item_1', content_index: 0, audio_end_ms: 1500 }],
];

test('accepted: valid GA and beta payloads real clients send', () => {
  for (const [name, v, payload] of ACCEPTED) {
    const sent = wire(payload);
    const r = v.validate(sent);
    assert.ok(r.ok, `${name}: ${r.ok ? '' : JSON.stringify(r.error)}`);
    assert.equal(v.check(sent), true, name);
    if (r.ok) assert.deepEqual(r.value, sent, `${name}: validate returns the value unchanged`);
  }
});
