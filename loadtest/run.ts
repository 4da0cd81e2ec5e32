// The loadtest's programmatic entry (used by cli.ts and the test): prepares the corpus, optionally
// starts an embedded Parley, runs the sessions in worker processes with a live progress line,
// then writes result.json, report.html (and for an embedded Parley its log and /metrics text).
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadCorpus } from './corpus.ts';
import { startEmbedded, type EmbeddedParley } from './embedded.ts';
import { renderReport } from './report-html.ts';
import { buildResult, type ErrorSample, type LoadtestResult } from './result.ts';
import { serverFigures } from './server-figures.ts';
import { epochNow, type FromWorker, type LoadtestConfig, type SessionRecord, type TurnRecord } from './types.ts';
import { startWorkers } from './workers.ts';

const PROGRESS_EVERY_MS = 1_000;
const MAX_ERROR_SAMPLES = 100;

export interface RunOptions extends Omit<LoadtestConfig, 'url' | 'apiKey'> {
  readonly url?: string | undefined;
  readonly apiKey?: string | undefined;
  readonly embedded: boolean;
  readonly nullEngines: boolean;
  readonly nullDelayMs: number;
  readonly parleyLogLevel: string;
  readonly outDir: string;
  /** Receives the live progress line about once a second; omit for a silent run. */
  readonly progress?: (line: string) => void;
  /** Receives one line per phase (corpus ready, Parley up, workers up, Parley stopped). */
  readonly log?: (line: string) => void;
  /** Aborting ends every session now; what was measured is still written. */
  readonly signal?: AbortSignal;
  /** Called once the sessions start, with the embedded Parley's nats-server (a bench's probe). */
  readonly onLoad?: (target: { readonly natsUrl: string | undefined }) => void;
}

export interface RunOutcome {
  readonly result: LoadtestResult;
  readonly outDir: string;
  /** Every session connected, completed its turns, and saw no error; no worker failed. */
  readonly ok: boolean;
  /** The processes the run started (all exited by the time it returns). */
  readonly processes: { readonly workers: readonly number[]; readonly embedded?: { readonly pid: number; readonly dataDir: string } };
}

function progressLine(s: { elapsedMs: number; connected: number; sessions: number; ended: number; turns: TurnRecord[]; errors: number; planned: number | undefined }): string {
  const failed = s.turns.filter((t) => t.status !== 'completed').length;
  const lag = s.turns.reduce((m, t) => Math.max(m, t.frameLag?.p99Ms ?? 0), 0);
  const dropped = s.turns.filter((t) => t.status === 'dropped').length;
  return (
    `[${(s.elapsedMs / 1000).toFixed(1).padStart(6)} s] sessions ${s.connected}/${s.sessions} connected, ${s.ended} ended` +
    ` | turns ${s.turns.length - failed}${s.planned === undefined ? '' : `/${s.planned}`} done, ${failed} failed` +
    ` | errors ${s.errors} | dropped ${dropped} | frame lag p99 max ${lag.toFixed(1)} ms`
  );
}

export async function runLoadtest(opts: RunOptions): Promise<RunOutcome> {
  const t0 = epochNow();
  const log = (line: string) => opts.log?.(`[${((epochNow() - t0) / 1000).toFixed(1).padStart(6)} s] ${line}`);
  await mkdir(opts.outDir, { recursive: true });
  const corpus = await loadCorpus();
  log(`corpus: ${corpus.length} utterances`);
  let parley: EmbeddedParley | undefined;
  try {
    if (opts.embedded) {
      parley = await startEmbedded({ nullEngines: opts.nullEngines, nullDelayMs: opts.nullDelayMs, logFile: path.join(opts.outDir, 'parley.log'), logLevel: opts.parleyLogLevel });
      log(`embedded Parley (pid ${parley.pid}) ready at ${parley.url}${opts.nullEngines ? `, null engines, delay ${opts.nullDelayMs} ms` : ''}`);
    }
    const url = parley?.url ?? opts.url;
    const apiKey = parley?.apiKey ?? opts.apiKey;
    if (!url || !apiKey) throw new Error('a target is needed: --url and --api-key, or --embedded');
    const { embedded: _e, nullEngines: _n, nullDelayMs: _d, parleyLogLevel: _l, outDir: _o, progress: _p, log: _g, signal: _s, onLoad: _onLoad, ...rest } = opts;
    const config: LoadtestConfig = { ...rest, url, apiKey };

    const turns: TurnRecord[] = [];
    const sessions: SessionRecord[] = [];
    const errorSamples: ErrorSample[] = [];
    const fatal: string[] = [];
    let connected = 0;
    let errors = 0;
    let clientCpuMs = 0;
    let runStart = epochNow();
    const onMessage = (msg: FromWorker, worker: number) => {
      switch (msg.type) {
        case 'connected':
          connected++;
          return;
        case 'error':
          errors++;
          if (errorSamples.length < MAX_ERROR_SAMPLES) errorSamples.push({ session: msg.session, kind: msg.kind, message: msg.message, at: epochNow() - runStart });
          return;
        case 'turn':
          turns.push(msg.record);
          return;
        case 'session':
          sessions.push(msg.record);
          return;
        case 'fatal':
          fatal.push(`worker ${worker}: ${msg.message}`);
          return;
        case 'done':
          clientCpuMs += msg.cpuMs;
          return;
        case 'ready':
          return;
        default:
          msg satisfies never;
      }
    };
    const loadavgStart = os.loadavg()[0]!;
    const pool = await startWorkers({ config, corpus, onMessage });
    runStart = pool.runStartEpochMs;
    opts.onLoad?.({ natsUrl: parley?.natsUrl });
    const metricsBefore = (await parley?.scrapeMetrics()) ?? '';
    log(`${config.nWorkers} workers ready; ${config.sessions} sessions, ${config.durationMs === undefined ? `${config.turns} turns each` : `for ${config.durationMs / 1000} s`}`);
    const planned = config.durationMs === undefined ? config.sessions * config.turns : undefined;
    const report = () =>
      opts.progress?.(progressLine({ elapsedMs: epochNow() - runStart, connected, sessions: config.sessions, ended: sessions.length, turns, errors, planned }));
    const ticker = setInterval(report, PROGRESS_EVERY_MS);
    const onAbort = () => pool.stop();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.signal?.aborted) pool.stop();
    // Past the longest a duration run can take, ask the workers to wrap up.
    const cap = config.durationMs === undefined ? undefined : setTimeout(() => pool.stop(), config.durationMs + config.turnTimeoutMs + 30_000);
    try {
      await pool.finished;
    } finally {
      clearInterval(ticker);
      if (cap) clearTimeout(cap);
      opts.signal?.removeEventListener('abort', onAbort);
    }
    report();
    const durationMs = epochNow() - runStart;
    const metricsAfter = (await parley?.scrapeMetrics()) ?? '';
    if (parley) await writeFile(path.join(opts.outDir, 'parley-metrics.txt'), metricsAfter);
    const result = buildResult({
      config,
      target: { url, embedded: opts.embedded, nullEngines: opts.embedded && opts.nullEngines, nullDelayMs: opts.nullDelayMs },
      startedAt: new Date(runStart),
      durationMs,
      corpus,
      sessions,
      turns,
      errorSamples,
      fatal,
      loadavgStart,
      clientCpuSeconds: clientCpuMs / 1000,
      server: parley ? serverFigures(metricsBefore, metricsAfter, durationMs) : undefined,
    });
    await writeFile(path.join(opts.outDir, 'result.json'), `${JSON.stringify(result, null, 1)}\n`);
    await writeFile(path.join(opts.outDir, 'report.html'), renderReport(result));
    const ok = fatal.length === 0 && result.totals.failedSessions === 0;
    return { result, outDir: opts.outDir, ok, processes: { workers: pool.pids, ...(parley ? { embedded: { pid: parley.pid, dataDir: parley.dataDir } } : {}) } };
  } finally {
    if (parley) {
      await parley.stop();
      log('embedded Parley stopped');
    }
  }
}
