// The turn tracker as a table of event sequences in -> turn record out: a plain Parley turn, the
// GA order where the transcript arrives after response.done (OpenAI), a VAD split of the utterance
// (first response cancelled by more speech), and a response already done when the audio ends.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { summarize } from './stats.ts';
import { base64Bytes, createTurnTracker } from './turn-tracker.ts';
import type { ServerEvent } from './socket.ts';
import type { TurnRecord } from './types.ts';

const audio48 = Buffer.alloc(4_800).toString('base64'); // 100 ms of PCM16 24 kHz
const ev = {
  started: (item: string): ServerEvent => ({ type: 'input_audio_buffer.speech_started', item_id: item }),
  stopped: (item: string): ServerEvent => ({ type: 'input_audio_buffer.speech_stopped', item_id: item }),
  tdelta: (item: string, delta: string): ServerEvent => ({ type: 'conversation.item.input_audio_transcription.delta', item_id: item, delta }),
  tdone: (item: string, transcript: string): ServerEvent => ({ type: 'conversation.item.input_audio_transcription.completed', item_id: item, transcript }),
  created: (id: string): ServerEvent => ({ type: 'response.created', response: { id, status: 'in_progress' } }),
  text: (id: string, delta: string): ServerEvent => ({ type: 'response.output_audio_transcript.delta', response_id: id, delta }),
  audio: (id: string): ServerEvent => ({ type: 'response.output_audio.delta', response_id: id, delta: audio48 }),
  done: (id: string, status = 'completed'): ServerEvent => ({ type: 'response.done', response: { id, status } }),
};

const newRecord = (): TurnRecord => ({ session: 0, worker: 0, turn: 0, utterance: 'u', status: 'incomplete', audioStart: NaN, audioEnd: NaN, audioBytes: 0, audioMs: 0, responses: 0, cancelled: 0, speechSegments: 0, errors: 0 });

interface Case {
  readonly name: string;
  /** [time, event] or [time, 'audio-end'] (the utterance's voiced audio is all sent; audio start is 100). */
  readonly script: ReadonlyArray<readonly [number, ServerEvent | 'audio-end']>;
  readonly expect: Partial<TurnRecord>;
  readonly doneAt: number | undefined;
}

const cases: Case[] = [
  {
    name: 'Parley order: transcript, then the response',
    script: [[150, ev.started('u1')], [1000, 'audio-end'], [1600, ev.stopped('u1')], [1601, ev.created('r1')], [1602, ev.tdelta('u1', 'hello')], [1603, ev.tdone('u1', 'hello')], [1610, ev.text('r1', 'Hi')], [1620, ev.audio('r1')], [1630, ev.audio('r1')], [1640, ev.done('r1')]],
    expect: { status: 'completed', firstTranscript: 1602, responseCreated: 1601, firstText: 1610, firstAudio: 1620, lastAudio: 1630, audioMs: 200, transcript: 'hello', answer: 'Hi' },
    doneAt: 1640,
  },
  {
    name: 'GA order: the transcript comes after response.done',
    script: [[150, ev.started('u1')], [1000, 'audio-end'], [1500, ev.stopped('u1')], [1510, ev.created('r1')], [1520, ev.text('r1', 'Sure')], [1530, ev.audio('r1')], [1600, ev.done('r1')], [1900, ev.tdone('u1', 'book a table')]],
    expect: { status: 'completed', firstTranscript: 1900, responseCreated: 1510, transcript: 'book a table' },
    doneAt: 1600,
  },
  {
    name: 'VAD split: the early response is cancelled by more speech; the next one is the answer',
    script: [[150, ev.started('u1')], [700, ev.stopped('u1')], [701, ev.created('r1')], [720, ev.started('u2')], [721, ev.done('r1', 'cancelled')], [1000, 'audio-end'], [1500, ev.stopped('u2')], [1501, ev.created('r2')], [1510, ev.text('r2', 'ok')], [1520, ev.audio('r2')], [1530, ev.done('r2')]],
    expect: { status: 'completed', responses: 2, cancelled: 1, speechSegments: 2, responseCreated: 1501, firstAudio: 1520 },
    doneAt: 1530,
  },
  {
    name: 'the response is already done when the last voiced chunk leaves',
    script: [[150, ev.started('u1')], [800, ev.stopped('u1')], [801, ev.created('r1')], [810, ev.audio('r1')], [820, ev.done('r1')], [1000, 'audio-end']],
    expect: { status: 'completed', responseCreated: 801 },
    doneAt: 1000,
  },
  {
    name: 'a transcript of another item (a late one from the previous turn) does not count',
    script: [[100, ev.tdone('old', 'previous')], [150, ev.started('u1')], [1000, 'audio-end'], [1500, ev.created('r1')]],
    expect: { status: 'timeout', firstTranscript: undefined, responseCreated: 1500 },
    doneAt: undefined,
  },
];

for (const c of cases) {
  test(`turn tracker: ${c.name}`, async () => {
    const rec = newRecord();
    const tracker = createTurnTracker(rec);
    let doneAt: number | undefined;
    let clock = 0;
    void tracker.done.then(() => (doneAt ??= clock));
    for (const [at, step] of c.script) {
      clock = at;
      if (step === 'audio-end') tracker.audioEnded(100, at);
      else tracker.onEvent(step, at);
      await Promise.resolve();
    }
    const out = tracker.finish('timeout');
    assert.deepEqual(Object.fromEntries(Object.keys(c.expect).map((k) => [k, out[k as keyof TurnRecord]])), c.expect);
    assert.equal(doneAt, c.doneAt);
  });
}

test('base64Bytes and summarize', () => {
  for (const n of [0, 1, 2, 3, 4800, 4801]) assert.equal(base64Bytes(Buffer.alloc(n).toString('base64')), n);
  const s = summarize([4, 1, 3, 2, NaN, 5]);
  assert.deepEqual({ count: s.count, mean: s.mean, median: s.median, p90: s.p90, min: s.min, max: s.max }, { count: 5, mean: 3, median: 3, p90: 4.6, min: 1, max: 5 });
  assert.ok(Number.isNaN(summarize([]).median));
});
