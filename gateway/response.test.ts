// Tests for ResponseRun: the exact GA event sequence of a response, driven by LLM text, tool calls
// and TTS chunks in any arrival order, against a recording host (the session side of the boundary).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AudioFormat, ConversationItem } from '../schemas/index.ts';
import { ResponseRun, type ResponseHost, type ResponseParams } from './response.ts';

type Ev = Record<string, unknown>;

/** The session side: records what reaches the socket (as JSON, like the wire) and the callbacks. */
class RecordingHost implements ResponseHost {
  readonly events: Ev[] = [];
  readonly conversation: string[];
  readonly changed: Array<{ item: ConversationItem; audioMs: number | undefined }> = [];
  firstAudioCalls = 0;
  firstTextCalls = 0;
  readonly finishedRuns: ResponseRun[] = [];

  constructor(existing: string[] = ['item_user']) {
    this.conversation = [...existing];
  }
  emit(event: Ev): void {
    this.events.push(JSON.parse(JSON.stringify(event)) as Ev);
  }
  insertItem(item: ConversationItem): string | null {
    const prev = this.conversation[this.conversation.length - 1] ?? null;
    this.conversation.push(item.id);
    return prev;
  }
  previousOf(itemId: string): string | null {
    const i = this.conversation.indexOf(itemId);
    return i > 0 ? this.conversation[i - 1]! : null;
  }
  readonly audioProgressMs = new Map<string, number>();
  audioProgress(itemId: string, audioMs: number): void {
    this.audioProgressMs.set(itemId, audioMs);
  }
  itemChanged(item: ConversationItem, extra?: { audioMs?: number }): void {
    this.changed.push({ item: structuredClone(item), audioMs: extra?.audioMs });
  }
  firstAudio(): void {
    this.firstAudioCalls++;
  }
  firstText(): void {
    this.firstTextCalls++;
  }
  finished(r: ResponseRun): void {
    this.finishedRuns.push(r);
  }
  types(): string[] {
    return this.events.map((e) => String(e['type']));
  }
  ofType(type: string): Ev[] {
    return this.events.filter((e) => e['type'] === type);
  }
  one(type: string): Ev {
    const found = this.ofType(type);
    assert.equal(found.length, 1, `expected exactly one ${type}, got ${found.length}`);
    return found[0]!;
  }
  /** Decoded bytes of every audio delta, in emission order. */
  audio(): Buffer[] {
    return this.ofType('response.output_audio.delta').map((e) => Buffer.from(String(e['delta']), 'base64'));
  }
}

const PCM24: AudioFormat = { type: 'audio/pcm', rate: 24000 };
const params = (over: Partial<ResponseParams> = {}): ResponseParams => ({
  id: 'resp_1',
  messageItemId: 'item_a',
  conversation: 'auto',
  audio: true,
  voice: 'marin',
  outputFormat: PCM24,
  maxOutputTokens: 'inf',
  metadata: null,
  conversationId: 'conv_1',
  temperature: 0.8,
  ...over,
});

function setup(over: Partial<ResponseParams> = {}): { run: ResponseRun; host: RecordingHost } {
  const host = new RecordingHost();
  const run = new ResponseRun(params(over), host);
  run.start();
  return { run, host };
}

/** A PCM16 chunk whose every byte tags it: (sentence, chunk) -> byte sentence*16+chunk. */
const tagged = (sentence: number, chunk: number, bytes = 480): Uint8Array => new Uint8Array(bytes).fill(sentence * 16 + chunk);
const tagOf = (b: Buffer): number => b[0]!;
const usage = { inputTokens: 10, outputTokens: 5 };

const AUDIO_SEQUENCE = [
  'response.created',
  'response.output_item.added',
  'conversation.item.added',
  'response.content_part.added',
  'response.output_audio_transcript.delta',
  'response.output_audio_transcript.delta',
  'response.output_audio.delta',
  'response.output_audio.delta',
  'response.output_audio.done',
  'response.output_audio_transcript.done',
  'response.content_part.done',
  'conversation.item.done',
  'response.output_item.done',
  'response.done',
];

test('audio response: exact GA event sequence and payloads', () => {
  const { run, host } = setup();
  run.onText(0, 'Hello there. ');
  run.onText(1, 'How are you?');
  run.onAudio(0, 0, tagged(0, 0, 4800));
  run.onSentenceEnd(0, 1);
  run.onAudio(1, 0, tagged(1, 0, 4800));
  run.onSentenceEnd(1, 1);
  assert.equal(run.active, true, 'not done before llm.done');
  run.onLlmDone(2, usage);
  assert.deepEqual(host.types(), AUDIO_SEQUENCE);

  const ids = { response_id: 'resp_1', item_id: 'item_a', output_index: 0, content_index: 0 };
  const created = host.one('response.created')['response'] as Ev;
  assert.equal(created['object'], 'realtime.response');
  assert.equal(created['id'], 'resp_1');
  assert.equal(created['status'], 'in_progress');
  assert.equal(created['status_details'], null);
  assert.deepEqual(created['output'], []);
  assert.equal(created['usage'], null);
  assert.equal(created['conversation_id'], 'conv_1');
  assert.deepEqual(created['output_modalities'], ['audio']);
  assert.deepEqual(created['audio'], { output: { format: PCM24, voice: 'marin' } });

  const inProgress = { id: 'item_a', object: 'realtime.item', type: 'message', status: 'in_progress', role: 'assistant', content: [] };
  assert.deepEqual(host.one('response.output_item.added'), { type: 'response.output_item.added', response_id: 'resp_1', output_index: 0, item: inProgress });
  assert.deepEqual(host.one('conversation.item.added'), { type: 'conversation.item.added', previous_item_id: 'item_user', item: inProgress });
  assert.deepEqual(host.one('response.content_part.added'), { type: 'response.content_part.added', ...ids, part: { type: 'audio', transcript: '' } });
  assert.deepEqual(
    host.ofType('response.output_audio_transcript.delta').map((e) => e['delta']),
    ['Hello there. ', 'How are you?'],
  );
  for (const e of host.ofType('response.output_audio_transcript.delta')) assert.deepEqual({ ...e, type: undefined, delta: undefined }, { ...ids, type: undefined, delta: undefined });
  assert.deepEqual(host.audio().map((b) => [tagOf(b), b.length]), [
    [0, 4800],
    [16, 4800],
  ]);
  assert.deepEqual(host.one('response.output_audio.done'), { type: 'response.output_audio.done', ...ids });
  const transcript = 'Hello there. How are you?';
  assert.deepEqual(host.one('response.output_audio_transcript.done'), { type: 'response.output_audio_transcript.done', ...ids, transcript });
  assert.deepEqual(host.one('response.content_part.done'), { type: 'response.content_part.done', ...ids, part: { type: 'audio', transcript } });
  const finalItem = { ...inProgress, status: 'completed', content: [{ type: 'output_audio', transcript }] };
  assert.deepEqual(host.one('conversation.item.done'), { type: 'conversation.item.done', previous_item_id: 'item_user', item: finalItem });
  assert.deepEqual(host.one('response.output_item.done'), { type: 'response.output_item.done', response_id: 'resp_1', output_index: 0, item: finalItem });

  const done = host.one('response.done')['response'] as Ev;
  assert.equal(done['status'], 'completed');
  assert.equal(done['status_details'], null);
  assert.deepEqual(done['output'], [finalItem]);
  // 9600 bytes of 24 kHz PCM16 = 200 ms -> 2 audio tokens.
  assert.deepEqual(done['usage'], {
    total_tokens: 17,
    input_tokens: 10,
    output_tokens: 7,
    input_token_details: { text_tokens: 10, audio_tokens: 0, image_tokens: 0, cached_tokens: 0, cached_tokens_details: { text_tokens: 0, audio_tokens: 0, image_tokens: 0 } },
    output_token_details: { text_tokens: 5, audio_tokens: 2 },
  });

  assert.equal(run.status, 'completed');
  assert.equal(run.active, false);
  assert.equal(run.audioMs, 200);
  assert.equal(host.firstTextCalls, 1);
  assert.equal(host.firstAudioCalls, 1);
  assert.deepEqual(host.finishedRuns, [run]);
  assert.deepEqual(host.conversation, ['item_user', 'item_a']);
  const last = host.changed.at(-1)!;
  assert.equal(last.item.status, 'completed');
  assert.equal(last.audioMs, 200);
});

test('audio is released strictly in (sentence, chunk) order, whatever the arrival order', () => {
  // Sentence 0: chunks 0..2; sentence 1: chunks 0..1; sentence 2: one chunk.
  type Step = ['audio', number, number] | ['end', number, number];
  const steps: Step[] = [
    ['audio', 0, 0],
    ['audio', 0, 1],
    ['audio', 0, 2],
    ['end', 0, 3],
    ['audio', 1, 0],
    ['audio', 1, 1],
    ['end', 1, 2],
    ['audio', 2, 0],
    ['end', 2, 1],
  ];
  const expected = [0, 1, 2, 16, 17, 32];
  // Deterministic shuffles plus the fully reversed order.
  let seed = 12345;
  const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const orders: Step[][] = [steps, [...steps].reverse()];
  for (let n = 0; n < 300; n++) {
    const o = [...steps];
    for (let i = o.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [o[i], o[j]] = [o[j]!, o[i]!];
    }
    orders.push(o);
  }
  for (const order of orders) {
    const { run, host } = setup();
    run.onText(0, 'One. Two. Three.');
    for (const [kind, s, n] of order) {
      if (kind === 'audio') run.onAudio(s, n, tagged(s, n));
      else run.onSentenceEnd(s, n);
      // At every point, what was released is a prefix of the expected order.
      const sofar = host.audio().map(tagOf);
      assert.deepEqual(sofar, expected.slice(0, sofar.length), JSON.stringify(order));
    }
    run.onLlmDone(3, usage);
    assert.deepEqual(host.audio().map(tagOf), expected, JSON.stringify(order));
    assert.equal(run.status, 'completed', JSON.stringify(order));
  }
});

test('audio: sentence 1 before sentence 0 and chunk 2 before chunk 1 wait for their turn', () => {
  const { run, host } = setup();
  run.onAudio(1, 0, tagged(1, 0));
  run.onSentenceEnd(1, 1);
  run.onAudio(0, 0, tagged(0, 0));
  run.onAudio(0, 2, tagged(0, 2));
  assert.deepEqual(host.audio().map(tagOf), [0], 'chunk 2 waits for chunk 1');
  run.onAudio(0, 1, tagged(0, 1));
  assert.deepEqual(host.audio().map(tagOf), [0, 1, 2], 'sentence 1 waits for the end of sentence 0');
  run.onSentenceEnd(0, 3);
  assert.deepEqual(host.audio().map(tagOf), [0, 1, 2, 16]);
  run.onLlmDone(2, usage);
  assert.equal(run.status, 'completed');
});

test('audio: a redelivered chunk is not sent twice', () => {
  const { run, host } = setup();
  run.onAudio(0, 0, tagged(0, 0));
  run.onAudio(0, 0, tagged(0, 0));
  run.onAudio(0, 1, tagged(0, 1));
  run.onAudio(0, 1, tagged(0, 1));
  run.onSentenceEnd(0, 2);
  run.onAudio(0, 1, tagged(0, 1));
  run.onLlmDone(1, usage);
  assert.deepEqual(host.audio().map(tagOf), [0, 1]);
  assert.equal(run.status, 'completed');
});

test('the response waits for every sentence before response.done, and for llm.done', () => {
  const { run, host } = setup();
  run.onText(0, 'A sentence. Another one.');
  run.onLlmDone(2, usage);
  assert.equal(run.active, true);
  run.onAudio(0, 0, tagged(0, 0));
  run.onSentenceEnd(0, 1);
  assert.equal(run.active, true, 'sentence 1 is still missing');
  run.onAudio(1, 0, tagged(1, 0));
  assert.equal(run.active, true, 'sentence 1 has not ended');
  run.onSentenceEnd(1, 1);
  assert.equal(run.status, 'completed');
  assert.equal(host.ofType('response.done').length, 1);
});

test('a failed sentence (onSentenceEnd(s, null)) lets later sentences play', () => {
  const rows: Array<{ name: string; drive: (run: ResponseRun) => void; audio: number[] }> = [
    {
      name: 'failure with no audio, before the later sentence',
      drive: (run) => {
        run.onSentenceEnd(0, null);
        run.onAudio(1, 0, tagged(1, 0));
        run.onSentenceEnd(1, 1);
      },
      audio: [16],
    },
    {
      name: 'later sentence buffered first, then the failure',
      drive: (run) => {
        run.onAudio(1, 0, tagged(1, 0));
        run.onSentenceEnd(1, 1);
        run.onSentenceEnd(0, null);
      },
      audio: [16],
    },
    {
      name: 'failure after one chunk of the current sentence was played',
      drive: (run) => {
        run.onAudio(0, 0, tagged(0, 0));
        run.onSentenceEnd(0, null);
        run.onAudio(1, 0, tagged(1, 0));
        run.onSentenceEnd(1, 1);
      },
      audio: [0, 16],
    },
    {
      name: 'failure of a future sentence with chunks buffered',
      drive: (run) => {
        run.onAudio(1, 0, tagged(1, 0));
        run.onSentenceEnd(1, null);
        run.onAudio(0, 0, tagged(0, 0));
        run.onSentenceEnd(0, 1);
      },
      audio: [0, 16],
    },
    {
      name: 'failure leaves a gap: chunk 2 arrived, chunk 1 never will',
      drive: (run) => {
        run.onAudio(0, 0, tagged(0, 0));
        run.onAudio(0, 2, tagged(0, 2));
        run.onSentenceEnd(0, null);
        run.onAudio(1, 0, tagged(1, 0));
        run.onSentenceEnd(1, 1);
      },
      audio: [0, 16],
    },
  ];
  for (const row of rows) {
    const { run, host } = setup();
    run.onText(0, 'First. Second.');
    row.drive(run);
    run.onLlmDone(2, usage);
    assert.deepEqual(host.audio().map(tagOf), row.audio, row.name);
    assert.equal(run.status, 'completed', row.name);
    assert.equal(host.one('response.output_audio_transcript.done')['transcript'], 'First. Second.', `${row.name}: the transcript keeps the failed sentence`);
  }
});

test('every sentence failing still completes the response', () => {
  const { run, host } = setup();
  run.onText(0, 'Unspoken.');
  run.onSentenceEnd(0, null);
  run.onLlmDone(1, usage);
  assert.equal(run.status, 'completed');
  assert.deepEqual(host.audio(), []);
  assert.equal(host.firstAudioCalls, 0);
});

test('LLM deltas arriving out of seq order are emitted in order', () => {
  const perms = (xs: number[]): number[][] => (xs.length <= 1 ? [xs] : xs.flatMap((x, i) => perms([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p])));
  const deltas = ['Hel', 'lo', '', ' world'];
  for (const order of perms([0, 1, 2, 3])) {
    const { run, host } = setup({ audio: false });
    for (const seq of order) {
      run.onText(seq, deltas[seq]!);
      const sofar = host.ofType('response.output_text.delta').map((e) => e['delta']);
      assert.deepEqual(sofar, ['Hel', 'lo', ' world'].slice(0, sofar.length), `order ${order}`);
    }
    assert.deepEqual(
      host.ofType('response.output_text.delta').map((e) => e['delta']),
      ['Hel', 'lo', ' world'],
      `order ${order}: empty deltas are skipped`,
    );
    run.onLlmDone(0, usage);
    assert.equal(host.one('response.output_text.done')['text'], 'Hello world');
    assert.equal(host.firstTextCalls, 1);
  }
});

test('a gap in seq holds back everything after it', () => {
  const { run, host } = setup({ audio: false });
  run.onText(1, 'b');
  run.onText(2, 'c');
  assert.deepEqual(host.types(), ['response.created'], 'nothing before seq 0 arrives');
  run.onText(0, 'a');
  assert.deepEqual(host.ofType('response.output_text.delta').map((e) => e['delta']), ['a', 'b', 'c']);
});

test('text-only response: output_text events and part.type text', () => {
  const { run, host } = setup({ audio: false });
  run.onText(0, 'Hi');
  run.onText(1, ' there');
  run.onAudio(0, 0, tagged(0, 0));
  run.onSentenceEnd(0, 1);
  run.onLlmDone(1, usage);
  assert.deepEqual(host.types(), [
    'response.created',
    'response.output_item.added',
    'conversation.item.added',
    'response.content_part.added',
    'response.output_text.delta',
    'response.output_text.delta',
    'response.output_text.done',
    'response.content_part.done',
    'conversation.item.done',
    'response.output_item.done',
    'response.done',
  ]);
  assert.deepEqual(host.one('response.content_part.added')['part'], { type: 'text', text: '' });
  assert.deepEqual(host.one('response.content_part.done')['part'], { type: 'text', text: 'Hi there' });
  assert.equal(host.one('response.output_text.done')['text'], 'Hi there');
  const item = host.one('conversation.item.done')['item'] as Ev;
  assert.deepEqual(item['content'], [{ type: 'output_text', text: 'Hi there' }]);
  const done = host.one('response.done')['response'] as { output_modalities: string[]; usage: { output_token_details: unknown; output_tokens: number } };
  assert.deepEqual(done.output_modalities, ['text']);
  assert.equal(done.usage.output_tokens, 5);
  assert.deepEqual(done.usage.output_token_details, { text_tokens: 5, audio_tokens: 0 });
  assert.equal(host.firstAudioCalls, 0);
});

test("cancel('turn_detected') mid-speech: incomplete item, cancelled response, then silence", () => {
  const { run, host } = setup();
  run.onText(0, 'I was saying something');
  run.onAudio(0, 0, tagged(0, 0));
  const before = host.events.length;
  run.cancel('turn_detected');
  assert.deepEqual(host.types().slice(before), [
    'response.output_audio.done',
    'response.output_audio_transcript.done',
    'response.content_part.done',
    'conversation.item.done',
    'response.output_item.done',
    'response.done',
  ]);
  assert.equal((host.one('conversation.item.done')['item'] as Ev)['status'], 'incomplete');
  assert.equal((host.one('response.output_item.done')['item'] as Ev)['status'], 'incomplete');
  assert.equal(host.one('response.output_audio_transcript.done')['transcript'], 'I was saying something');
  const done = host.one('response.done')['response'] as Ev;
  assert.equal(done['status'], 'cancelled');
  assert.deepEqual(done['status_details'], { type: 'cancelled', reason: 'turn_detected' });
  assert.equal(run.status, 'cancelled');
  assert.equal(host.changed.at(-1)?.item.status, 'incomplete');

  // Anything that still arrives for this response is dropped.
  const after = host.events.length;
  run.onText(1, ' more');
  run.onAudio(0, 1, tagged(0, 1));
  run.onAudio(1, 0, tagged(1, 0));
  run.onSentenceEnd(0, 2);
  run.onSentenceEnd(1, null);
  run.onFunctionCall({ callId: 'call_1', name: 'f', arguments: '{}' });
  run.onLlmDone(2, usage);
  run.cancel('client_cancelled');
  run.fail('late_failure');
  assert.equal(host.events.length, after, `emitted after cancel: ${host.types().slice(after).join(', ')}`);
  assert.equal(host.finishedRuns.length, 1);
  assert.equal(run.status, 'cancelled');
});

test("cancel('client_cancelled') before any output: only response.done", () => {
  const { run, host } = setup();
  run.cancel('client_cancelled');
  assert.deepEqual(host.types(), ['response.created', 'response.done']);
  const done = host.one('response.done')['response'] as Ev;
  assert.deepEqual(done['output'], []);
  assert.equal(done['status'], 'cancelled');
  assert.deepEqual(done['status_details'], { type: 'cancelled', reason: 'client_cancelled' });
  assert.deepEqual(host.conversation, ['item_user'], 'nothing was added to the conversation');
});

test('nothing is emitted after a completed response', () => {
  const { run, host } = setup({ audio: false });
  run.onText(0, 'Done.');
  run.onLlmDone(0, usage);
  const after = host.events.length;
  run.onText(1, 'late');
  run.onAudio(0, 0, tagged(0, 0));
  run.onSentenceEnd(0, 1);
  run.onLlmDone(0, usage);
  run.cancel('turn_detected');
  run.fail('x');
  assert.equal(host.events.length, after);
  assert.equal(run.status, 'completed');
});

test('fail(): response.done status failed with the error code', () => {
  const { run, host } = setup();
  run.onText(0, 'partial');
  run.fail('llm_unavailable');
  const done = host.one('response.done')['response'] as Ev;
  assert.equal(done['status'], 'failed');
  assert.deepEqual(done['status_details'], { type: 'failed', error: { type: 'server_error', code: 'llm_unavailable' } });
  assert.equal((host.one('response.output_item.done')['item'] as Ev)['status'], 'incomplete');
});

test('function call: item events, argument events, completed item, output_index after the message', () => {
  const { run, host } = setup({ audio: false });
  run.onText(0, 'Let me check.');
  run.onFunctionCall({ callId: 'call_abc', name: 'get_weather', arguments: '{"city":"Oslo"}' });
  run.onLlmDone(0, usage);
  const calls = host.events.filter((e) => (e['item'] as Ev | undefined)?.['type'] === 'function_call' || String(e['type']).startsWith('response.function_call'));
  assert.deepEqual(
    calls.map((e) => e['type']),
    ['response.output_item.added', 'conversation.item.added', 'response.function_call_arguments.delta', 'response.function_call_arguments.done', 'conversation.item.done', 'response.output_item.done'],
  );
  const added = calls[0]!;
  assert.equal(added['output_index'], 1);
  assert.deepEqual(added['item'], { id: 'item_callabc', object: 'realtime.item', type: 'function_call', status: 'in_progress', call_id: 'call_abc', name: 'get_weather', arguments: '' });
  assert.equal(calls[1]!['previous_item_id'], 'item_a');
  assert.deepEqual(calls[3], { type: 'response.function_call_arguments.done', response_id: 'resp_1', item_id: 'item_callabc', output_index: 1, call_id: 'call_abc', name: 'get_weather', arguments: '{"city":"Oslo"}' });
  for (const e of [calls[4]!, calls[5]!]) assert.deepEqual((e['item'] as Ev)['status'], 'completed');
  const done = host.one('response.done')['response'] as { output: Ev[] };
  assert.deepEqual(done.output.map((i) => [i['type'], i['status']]), [
    ['message', 'completed'],
    ['function_call', 'completed'],
  ]);
  assert.deepEqual(host.conversation, ['item_user', 'item_a', 'item_callabc']);
});

test('out-of-band response (conversation none): no conversation.item.* events, nothing inserted', () => {
  for (const audio of [true, false]) {
    const { run, host } = setup({ conversation: 'none', audio });
    run.onText(0, 'Summary.');
    run.onFunctionCall({ callId: 'call_1', name: 'f', arguments: '{}' });
    if (audio) {
      run.onAudio(0, 0, tagged(0, 0));
      run.onSentenceEnd(0, 1);
    }
    run.onLlmDone(audio ? 1 : 0, usage);
    assert.deepEqual(
      host.types().filter((t) => t.startsWith('conversation.')),
      [],
      `audio=${audio}`,
    );
    assert.deepEqual(host.conversation, ['item_user']);
    assert.equal(host.ofType('response.output_item.added').length, 2);
    assert.equal(host.ofType('response.output_item.done').length, 2);
    const done = host.one('response.done')['response'] as Ev;
    assert.equal(done['conversation_id'], null);
    assert.equal(done['status'], 'completed');
  }
});

test('metadata and max_output_tokens are echoed on the response', () => {
  const { run, host } = setup({ metadata: { topic: 'billing' }, maxOutputTokens: 300, audio: false });
  run.onLlmDone(0, usage);
  for (const type of ['response.created', 'response.done']) {
    const r = host.one(type)['response'] as Ev;
    assert.deepEqual(r['metadata'], { topic: 'billing' });
    assert.equal(r['max_output_tokens'], 300);
  }
});

const G711_FORMATS: Array<[AudioFormat, number]> = [
  [{ type: 'audio/pcmu' }, 0xff], // μ-law silence
  [{ type: 'audio/pcma' }, 0xd5], // A-law silence
];

test('G.711 output: 8 kHz, one byte per sample, companded', () => {
  for (const [format, silence] of G711_FORMATS) {
    const { run, host } = setup({ outputFormat: format });
    // 100 ms of 24 kHz PCM16 silence per chunk = 4800 bytes in, 800 G.711 bytes out.
    for (let n = 0; n < 5; n++) run.onAudio(0, n, new Uint8Array(4800));
    run.onSentenceEnd(0, 5);
    run.onLlmDone(1, usage);
    const chunks = host.audio();
    // Five chunks, then the resampler's look-ahead tail flushed at the end.
    assert.equal(chunks.length, 6);
    // The first chunk is shorter by the resampler's look-ahead (a few ms); the rest are exact.
    assert.ok(chunks[0]!.length <= 800 && chunks[0]!.length >= 800 - 8 * 8, `first chunk ${chunks[0]!.length} bytes`);
    for (const c of chunks.slice(1, 5)) assert.equal(c.length, 800, format.type);
    assert.equal(chunks.reduce((n, c) => n + c.length, 0), 4000, 'exactly 500 ms at 8 kHz');
    for (const c of chunks) assert.ok(c.every((b) => b === silence), `${format.type} silence is 0x${silence.toString(16)}`);
    assert.equal(run.audioMs, 500, 'audio time is counted on the 24 kHz input');
    assert.deepEqual((host.one('response.done')['response'] as { audio: unknown }).audio, { output: { format, voice: 'marin' } });
  }
});

test(
  'G.711 output: the whole response reaches the client (8 bytes per ms)',
  () => {
    for (const [format] of G711_FORMATS) {
      const { run, host } = setup({ outputFormat: format });
      run.onAudio(0, 0, new Uint8Array(4800));
      run.onAudio(0, 1, new Uint8Array(4800));
      run.onSentenceEnd(0, 2);
      run.onLlmDone(1, usage);
      const total = host.audio().reduce((n, b) => n + b.length, 0);
      assert.equal(total, 1600, `${format.type}: 200 ms at 8 kHz`);
    }
  },
);

test('PCM output is passed through byte for byte', () => {
  const { run, host } = setup();
  const pcm = Uint8Array.from({ length: 960 }, (_, i) => (i * 7) & 0xff);
  // A view into a larger buffer: only the view's bytes go out.
  const backing = new Uint8Array(2000);
  backing.set(pcm, 100);
  run.onAudio(0, 0, backing.subarray(100, 1060));
  assert.deepEqual([...host.audio()[0]!], [...pcm]);
});
