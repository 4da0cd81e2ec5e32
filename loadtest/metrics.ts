// The per-turn metrics of seed 000 (principle II), computed from the client-side timestamps of a
// TurnRecord, and their summaries (mean, median, p90, p95, p99). Only turns that completed count.
//   stt        audio start (first voiced sample sent) -> first transcript text
//   vad        audio end (last voiced sample sent)    -> response.created
//   llm        response.created                       -> first response text
//   tts_start  first response text                    -> first response audio
//   tts_rtf    received audio length / (last audio delta - first response text)
//   eos_audio  audio end                              -> first response audio
// plus the platform health figures: frame lag per turn (max and p99 of how late appends left).
import { summarize, type Summary } from './stats.ts';
import type { TurnRecord } from './types.ts';

export interface MetricDef {
  readonly key: string;
  readonly label: string;
  readonly unit: 'ms' | 'x';
  readonly value: (t: TurnRecord) => number | undefined;
}

const span = (from: number | undefined, to: number | undefined): number | undefined =>
  from === undefined || to === undefined || !Number.isFinite(from) || !Number.isFinite(to) ? undefined : to - from;

export const METRICS: readonly MetricDef[] = [
  { key: 'stt', label: 'STT latency (audio start -> first transcript)', unit: 'ms', value: (t) => span(t.audioStart, t.firstTranscript) },
  { key: 'vad', label: 'VAD latency (audio end -> response.created)', unit: 'ms', value: (t) => span(t.audioEnd, t.responseCreated) },
  { key: 'llm', label: 'LLM latency (response.created -> first text)', unit: 'ms', value: (t) => span(t.responseCreated, t.firstText) },
  { key: 'tts_start', label: 'TTS start (first text -> first audio)', unit: 'ms', value: (t) => span(t.firstText, t.firstAudio) },
  {
    key: 'tts_rtf',
    label: 'TTS realtime factor (audio length / generation time)',
    unit: 'x',
    value: (t) => {
      const gen = span(t.firstText, t.lastAudio);
      return gen === undefined || gen <= 0 || t.audioMs <= 0 ? undefined : t.audioMs / gen;
    },
  },
  { key: 'eos_audio', label: 'End of speech -> first audio', unit: 'ms', value: (t) => span(t.audioEnd, t.firstAudio) },
  { key: 'frame_lag_p99', label: 'Frame lag per turn, p99 of appends', unit: 'ms', value: (t) => t.frameLag?.p99Ms },
  { key: 'frame_lag_max', label: 'Frame lag per turn, worst append', unit: 'ms', value: (t) => t.frameLag?.maxMs },
];

/** The six latency metrics of seed 000 (the frame-lag rows are health figures). */
export const SEED_METRICS = METRICS.slice(0, 6).map((m) => m.key);

export interface MetricSummary extends Summary {
  readonly key: string;
  readonly label: string;
  readonly unit: 'ms' | 'x';
}

export function metricValues(turns: readonly TurnRecord[], m: MetricDef): number[] {
  return turns.filter((t) => t.status === 'completed').flatMap((t) => {
    const v = m.value(t);
    return v === undefined ? [] : [v];
  });
}

export function summarizeTurns(turns: readonly TurnRecord[]): MetricSummary[] {
  return METRICS.map((m) => ({ key: m.key, label: m.label, unit: m.unit, ...summarize(metricValues(turns, m)) }));
}

/** A fixed-width text table of the summaries, for the terminal. */
export function formatSummaryTable(rows: readonly MetricSummary[]): string {
  const f = (v: number, unit: 'ms' | 'x') => (Number.isFinite(v) ? (unit === 'x' ? `${v.toFixed(2)}x` : v.toFixed(1)) : '-').padStart(9);
  const head = `${'metric'.padEnd(54)}${'n'.padStart(6)}${['mean', 'median', 'p90', 'p95', 'p99'].map((h) => h.padStart(9)).join('')}`;
  const lines = rows.map(
    (r) => `${`${r.label}${r.unit === 'ms' ? ' ms' : ''}`.padEnd(54)}${String(r.count).padStart(6)}${[r.mean, r.median, r.p90, r.p95, r.p99].map((v) => f(v, r.unit)).join('')}`,
  );
  return [head, ...lines].join('\n');
}
