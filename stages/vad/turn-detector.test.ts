// Tests for turn detection: speech probabilities (one per 32 ms frame) in -> speech_started /
// speech_stopped out, with server_vad semantics (prefix padding clamped at the buffer floor,
// silence counted in whole frames, hysteresis at threshold - 0.15).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { detectorParams, TurnDetector, type DetectorEvent, type DetectorParams } from './turn-detector.ts';

const FRAME = 32;
const DEFAULT: DetectorParams = { threshold: 0.5, prefixPaddingMs: 300, silenceDurationMs: 500 };

/** Frames i = 0.. start at i * 32 ms; returns [frame index, event] for every event. */
function run(probs: readonly number[], opts: { params?: DetectorParams; floorMs?: number; startMs?: number } = {}): Array<[number, DetectorEvent]> {
  const d = new TurnDetector(opts.params ?? DEFAULT, FRAME);
  const out: Array<[number, DetectorEvent]> = [];
  probs.forEach((p, i) => {
    const ev = d.push(p, (opts.startMs ?? 0) + i * FRAME, opts.floorMs ?? 0);
    if (ev) out.push([i, ev]);
  });
  return out;
}

const rep = (p: number, n: number): number[] => Array<number>(n).fill(p);

interface Row {
  readonly name: string;
  readonly probs: number[];
  readonly params?: DetectorParams;
  readonly floorMs?: number;
  readonly startMs?: number;
  readonly events: Array<[number, DetectorEvent]>;
}

// 500 ms of silence at 32 ms per frame = 16 frames (15 frames are 480 ms, not enough).
const ROWS: Row[] = [
  { name: 'silence only', probs: rep(0.1, 50), events: [] },
  {
    name: 'one utterance',
    probs: [...rep(0.1, 10), ...rep(0.9, 5), ...rep(0.1, 16)],
    events: [
      [10, { type: 'speech_started', speechStartMs: 320, audioStartMs: 20 }],
      [30, { type: 'speech_stopped', speechEndMs: 480, audioEndMs: 992, audioStartMs: 20 }],
    ],
  },
  {
    name: '15 silent frames (480 ms) do not end the turn',
    probs: [...rep(0.1, 10), ...rep(0.9, 5), ...rep(0.1, 15)],
    events: [[10, { type: 'speech_started', speechStartMs: 320, audioStartMs: 20 }]],
  },
  {
    name: 'prefix padding clamped at the floor',
    probs: [...rep(0.1, 10), ...rep(0.9, 5), ...rep(0.1, 16)],
    floorMs: 200,
    events: [
      [10, { type: 'speech_started', speechStartMs: 320, audioStartMs: 200 }],
      [30, { type: 'speech_stopped', speechEndMs: 480, audioEndMs: 992, audioStartMs: 200 }],
    ],
  },
  {
    name: 'speech in the first frame: padding clamped at 0',
    probs: [...rep(0.9, 3), ...rep(0.1, 16)],
    events: [
      [0, { type: 'speech_started', speechStartMs: 0, audioStartMs: 0 }],
      [18, { type: 'speech_stopped', speechEndMs: 96, audioEndMs: 608, audioStartMs: 0 }],
    ],
  },
  {
    name: 'timeline offset (later in the session)',
    probs: [...rep(0.1, 2), ...rep(0.9, 2), ...rep(0.1, 16)],
    startMs: 10_000,
    floorMs: 9_900,
    events: [
      [2, { type: 'speech_started', speechStartMs: 10_064, audioStartMs: 9_900 }],
      [19, { type: 'speech_stopped', speechEndMs: 10_128, audioEndMs: 10_640, audioStartMs: 9_900 }],
    ],
  },
  {
    name: 'hysteresis: 0.4 (>= 0.5 - 0.15) keeps the turn going',
    probs: [...rep(0.9, 2), ...rep(0.4, 30), ...rep(0.1, 16)],
    events: [
      [0, { type: 'speech_started', speechStartMs: 0, audioStartMs: 0 }],
      [47, { type: 'speech_stopped', speechEndMs: 1024, audioEndMs: 1536, audioStartMs: 0 }],
    ],
  },
  {
    name: 'hysteresis: 0.4 does not start a turn',
    probs: rep(0.4, 40),
    events: [],
  },
  {
    name: 'hysteresis: 0.3 (< 0.35) counts as silence',
    probs: [...rep(0.9, 2), ...rep(0.3, 16)],
    events: [
      [0, { type: 'speech_started', speechStartMs: 0, audioStartMs: 0 }],
      [17, { type: 'speech_stopped', speechEndMs: 64, audioEndMs: 576, audioStartMs: 0 }],
    ],
  },
  {
    name: 'a short pause is bridged, the silence counter restarts',
    probs: [...rep(0.9, 2), ...rep(0.1, 10), ...rep(0.9, 1), ...rep(0.1, 16)],
    events: [
      [0, { type: 'speech_started', speechStartMs: 0, audioStartMs: 0 }],
      [28, { type: 'speech_stopped', speechEndMs: 416, audioEndMs: 928, audioStartMs: 0 }],
    ],
  },
  {
    name: 'two turns',
    probs: [...rep(0.9, 2), ...rep(0.1, 16), ...rep(0.1, 20), ...rep(0.8, 3), ...rep(0.1, 16)],
    events: [
      [0, { type: 'speech_started', speechStartMs: 0, audioStartMs: 0 }],
      [17, { type: 'speech_stopped', speechEndMs: 64, audioEndMs: 576, audioStartMs: 0 }],
      [38, { type: 'speech_started', speechStartMs: 1216, audioStartMs: 916 }],
      [56, { type: 'speech_stopped', speechEndMs: 1312, audioEndMs: 1824, audioStartMs: 916 }],
    ],
  },
  {
    name: 'threshold is inclusive',
    probs: [0.5, ...rep(0.1, 16)],
    events: [
      [0, { type: 'speech_started', speechStartMs: 0, audioStartMs: 0 }],
      [16, { type: 'speech_stopped', speechEndMs: 32, audioEndMs: 544, audioStartMs: 0 }],
    ],
  },
  {
    name: 'silence_duration 320 ms = exactly 10 frames',
    probs: [...rep(0.9, 1), ...rep(0.1, 10)],
    params: { threshold: 0.5, prefixPaddingMs: 0, silenceDurationMs: 320 },
    events: [
      [0, { type: 'speech_started', speechStartMs: 0, audioStartMs: 0 }],
      [10, { type: 'speech_stopped', speechEndMs: 32, audioEndMs: 352, audioStartMs: 0 }],
    ],
  },
  {
    name: 'silence_duration 0 ends on the first quiet frame',
    probs: [0.9, 0.9, 0.1],
    params: { threshold: 0.5, prefixPaddingMs: 0, silenceDurationMs: 0 },
    events: [
      [0, { type: 'speech_started', speechStartMs: 0, audioStartMs: 0 }],
      [2, { type: 'speech_stopped', speechEndMs: 64, audioEndMs: 96, audioStartMs: 0 }],
    ],
  },
  {
    name: 'low threshold: the negative threshold never drops below 0.01',
    probs: [0.1, 0.02, 0.02, 0.005, 0.005],
    params: { threshold: 0.1, prefixPaddingMs: 0, silenceDurationMs: 64 },
    events: [
      [0, { type: 'speech_started', speechStartMs: 0, audioStartMs: 0 }],
      [4, { type: 'speech_stopped', speechEndMs: 96, audioEndMs: 160, audioStartMs: 0 }],
    ],
  },
];

for (const row of ROWS) {
  test(`turn detector: ${row.name}`, () => {
    const opts = { ...(row.params ? { params: row.params } : {}), ...(row.floorMs !== undefined ? { floorMs: row.floorMs } : {}), ...(row.startMs !== undefined ? { startMs: row.startMs } : {}) };
    assert.deepEqual(run(row.probs, opts), row.events);
  });
}

test('speaking / currentAudioStartMs / reset', () => {
  const d = new TurnDetector(DEFAULT, FRAME);
  assert.equal(d.speaking, false);
  d.push(0.9, 640, 0);
  assert.equal(d.speaking, true);
  assert.equal(d.currentAudioStartMs, 340);
  d.reset();
  assert.equal(d.speaking, false);
  // After a reset (commit/clear) a new turn starts from scratch.
  assert.deepEqual(d.push(0.9, 1000, 900), { type: 'speech_started', speechStartMs: 1000, audioStartMs: 900 });
});

test('setParams applies to the turn in progress', () => {
  const d = new TurnDetector(DEFAULT, FRAME);
  d.push(0.9, 0, 0);
  for (let i = 1; i <= 5; i++) assert.equal(d.push(0.1, i * FRAME, 0), null);
  d.setParams({ threshold: 0.5, prefixPaddingMs: 300, silenceDurationMs: 192 });
  assert.deepEqual(d.push(0.1, 6 * FRAME, 0), { type: 'speech_stopped', speechEndMs: 32, audioEndMs: 224, audioStartMs: 0 });
});

test('detectorParams: server_vad as configured, semantic_vad eagerness -> silence, null -> off', () => {
  assert.equal(detectorParams(null), null);
  assert.deepEqual(
    detectorParams({ type: 'server_vad', threshold: 0.7, prefix_padding_ms: 200, silence_duration_ms: 800, idle_timeout_ms: null, create_response: true, interrupt_response: true }),
    { threshold: 0.7, prefixPaddingMs: 200, silenceDurationMs: 800 },
  );
  const rows: Array<['low' | 'medium' | 'high' | 'auto', number]> = [
    ['low', 1_200],
    ['medium', 700],
    ['auto', 700],
    ['high', 350],
  ];
  for (const [eagerness, silenceDurationMs] of rows) {
    assert.deepEqual(detectorParams({ type: 'semantic_vad', eagerness, create_response: true, interrupt_response: true }), { threshold: 0.5, prefixPaddingMs: 300, silenceDurationMs }, eagerness);
  }
});
