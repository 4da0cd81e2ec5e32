// The loadtest's result (written as result.json): the config it ran with, the totals, the metric
// summaries, errors by kind, and every session and turn record; and how it is put together from
// what the workers reported.
import os from 'node:os';
import { summarizeTurns, type MetricSummary } from './metrics.ts';
import type { ServerFigures } from './server-figures.ts';
import type { LoadtestConfig, SessionRecord, TurnRecord, Utterance } from './types.ts';

export interface ErrorSample {
  readonly session: number;
  readonly kind: string;
  readonly message: string;
  readonly at: number;
}

export interface LoadtestResult {
  readonly version: 1;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly target: { readonly url: string; readonly embedded: boolean; readonly nullEngines: boolean; readonly nullDelayMs: number };
  readonly config: Omit<LoadtestConfig, 'apiKey'>;
  readonly totals: {
    readonly sessions: number;
    readonly connected: number;
    readonly failedSessions: number;
    readonly droppedSessions: number;
    readonly turns: number;
    readonly turnsCompleted: number;
    readonly errors: number;
  };
  readonly summaries: MetricSummary[];
  /** The machine the loadtest ran on (the client shares it with an embedded Parley). */
  readonly machine: { readonly cpus: number; readonly loadavgStart: number; readonly loadavgEnd: number; readonly node: string };
  /** CPU seconds of all worker processes (the client's own cost). */
  readonly clientCpuSeconds: number;
  /** An embedded Parley's own figures from its /metrics. */
  readonly server?: ServerFigures | undefined;
  readonly errors: Record<string, number>;
  readonly errorSamples: ErrorSample[];
  readonly fatal: string[];
  readonly utterances: ReadonlyArray<{ readonly id: string; readonly text: string; readonly voice: string; readonly wpm: number; readonly voicedMs: number }>;
  readonly sessions: SessionRecord[];
  readonly turns: TurnRecord[];
}

export function buildResult(input: {
  readonly config: LoadtestConfig;
  readonly target: LoadtestResult['target'];
  readonly startedAt: Date;
  readonly durationMs: number;
  readonly corpus: readonly Utterance[];
  readonly sessions: SessionRecord[];
  readonly turns: TurnRecord[];
  readonly errorSamples: ErrorSample[];
  readonly fatal: string[];
  readonly loadavgStart: number;
  readonly clientCpuSeconds: number;
  readonly server?: ServerFigures | undefined;
}): LoadtestResult {
  const { apiKey: _secret, ...config } = input.config;
  const sessions = [...input.sessions].sort((a, b) => a.session - b.session);
  // A session no worker reported on (a worker died) is failed too.
  for (let s = 0; s < input.config.sessions; s++) {
    if (!sessions.some((r) => r.session === s)) {
      sessions.push({ session: s, worker: s % input.config.nWorkers, startedAt: NaN, turnsCompleted: 0, dropped: false, failed: true, failure: 'not reported', errors: { unreported: 1 } });
    }
  }
  sessions.sort((a, b) => a.session - b.session);
  const turns = [...input.turns].sort((a, b) => a.session - b.session || a.turn - b.turn);
  const errors: Record<string, number> = {};
  for (const s of sessions) for (const [k, n] of Object.entries(s.errors)) errors[k] = (errors[k] ?? 0) + n;
  return {
    version: 1,
    startedAt: input.startedAt.toISOString(),
    durationMs: input.durationMs,
    target: input.target,
    config,
    totals: {
      sessions: input.config.sessions,
      connected: sessions.filter((s) => s.connectedAt !== undefined).length,
      failedSessions: sessions.filter((s) => s.failed).length,
      droppedSessions: sessions.filter((s) => s.dropped).length,
      turns: turns.length,
      turnsCompleted: turns.filter((t) => t.status === 'completed').length,
      errors: Object.values(errors).reduce((a, b) => a + b, 0),
    },
    summaries: summarizeTurns(turns),
    machine: { cpus: os.cpus().length, loadavgStart: input.loadavgStart, loadavgEnd: os.loadavg()[0]!, node: process.version },
    clientCpuSeconds: input.clientCpuSeconds,
    server: input.server,
    errors,
    errorSamples: input.errorSamples,
    fatal: input.fatal,
    utterances: input.corpus.map((u) => ({ id: u.id, text: u.text, voice: u.voice, wpm: u.wpm, voicedMs: ((u.voicedEnd - u.voicedStart) / 24_000) * 1000 })),
    sessions,
    turns,
  };
}
