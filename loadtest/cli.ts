// `npm run loadtest -- [options]`: N concurrent Realtime sessions from several worker processes
// against any Realtime endpoint (an embedded Parley, a running one, or OpenAI's), with realistic
// espeak-ng speech at real-time pace. Prints live progress and the per-metric summary, writes
// result.json and report.html; exits non-zero if any session failed.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { parseNoiseDbfs } from './audio-pump.ts';
import { formatSummaryTable } from './metrics.ts';
import { runLoadtest, type RunOptions } from './run.ts';
import { formatServerFigures } from './server-figures.ts';

const USAGE = `usage: npm run loadtest -- [--embedded [--null-engines [--null-delay-ms 0]]] | [--url wss://… --api-key KEY [--model gpt-realtime] [--ca cert.pem] [--insecure]]
  --sessions 8           concurrent sessions            --n-workers 4       worker processes
  --client-nice 0        niceness of the worker processes (0-19; >0 when they share the server's machine)
  --turns 3              turns per session              --duration SEC      run turns for this long instead
  --ramp-ms 100          delay between session starts   --chunk-ms 40       audio per append (20-40)
  --silence-ms 500       server_vad silence_duration_ms --pause-ms 400,1500 random pause before each turn
  --noise-dbfs=N         white noise at N dBFS under all audio (a plain microphone: --noise-dbfs=-55; a negative value needs the '='); default: digital silence between utterances
  --turn-timeout-ms 30000                               --transcription-model whisper-1
  --instructions TEXT    session instructions           --seed 1
  --out DIR              default loadtest/results/<timestamp>/
  --parley-log-level warn  log level of the embedded Parley (its log goes to DIR/parley.log)`;

class UsageError extends Error {}

function noiseLevel(v: string): number {
  try {
    return parseNoiseDbfs(v);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function int(name: string, v: string | undefined, min: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min} (got ${v})`);
  return n;
}

export function parseCli(argv: string[]): RunOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      url: { type: 'string' },
      'api-key': { type: 'string' },
      model: { type: 'string', default: 'gpt-realtime' },
      ca: { type: 'string' },
      insecure: { type: 'boolean', default: false },
      sessions: { type: 'string', default: '8' },
      'n-workers': { type: 'string', default: '4' },
      'client-nice': { type: 'string', default: '0' },
      turns: { type: 'string', default: '3' },
      duration: { type: 'string' },
      embedded: { type: 'boolean', default: false },
      'null-engines': { type: 'boolean', default: false },
      'null-delay-ms': { type: 'string', default: '0' },
      out: { type: 'string' },
      'ramp-ms': { type: 'string', default: '100' },
      'chunk-ms': { type: 'string', default: '40' },
      'noise-dbfs': { type: 'string' },
      'silence-ms': { type: 'string', default: '500' },
      'pause-ms': { type: 'string', default: '400,1500' },
      'turn-timeout-ms': { type: 'string', default: '30000' },
      'transcription-model': { type: 'string', default: 'whisper-1' },
      instructions: { type: 'string' },
      seed: { type: 'string', default: '1' },
      'parley-log-level': { type: 'string', default: 'warn' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) throw new UsageError('');
  if (!values.embedded && !values.url) throw new UsageError('give --embedded, or --url (and --api-key) of a Realtime endpoint');
  if (values.embedded && values.url) throw new UsageError('--embedded and --url exclude each other');
  if (values['null-engines'] && !values.embedded) throw new UsageError('--null-engines needs --embedded (set PARLEY_*_ENGINE=null on the server you point at)');
  const pause = values['pause-ms'].split(',').map((p) => int('pause-ms', p.trim(), 0));
  if (pause.length !== 2 || pause[0]! > pause[1]!) throw new UsageError('--pause-ms takes MIN,MAX');
  const chunkMs = int('chunk-ms', values['chunk-ms'], 10);
  if (chunkMs > 200) throw new UsageError('--chunk-ms must be at most 200');
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  return {
    url: values.url,
    apiKey: values['api-key'] ?? (values.embedded ? undefined : process.env['OPENAI_API_KEY']),
    model: values.model,
    ca: values.ca,
    insecure: values.insecure,
    sessions: int('sessions', values.sessions, 1),
    nWorkers: int('n-workers', values['n-workers'], 1),
    clientNice: Math.min(19, int('client-nice', values['client-nice'], 0)),
    turns: int('turns', values.turns, 1),
    durationMs: values.duration === undefined ? undefined : Number(values.duration) * 1000,
    rampMs: int('ramp-ms', values['ramp-ms'], 0),
    chunkMs,
    noiseDbfs: values['noise-dbfs'] === undefined ? undefined : noiseLevel(values['noise-dbfs']),
    vadSilenceMs: int('silence-ms', values['silence-ms'], 0),
    transcriptionModel: values['transcription-model'],
    instructions: values.instructions,
    turnTimeoutMs: int('turn-timeout-ms', values['turn-timeout-ms'], 1),
    pauseMs: [pause[0]!, pause[1]!],
    seed: int('seed', values.seed, 0),
    embedded: values.embedded,
    nullEngines: values['null-engines'],
    nullDelayMs: int('null-delay-ms', values['null-delay-ms'], 0),
    parleyLogLevel: values['parley-log-level'],
    outDir: path.resolve(values.out ?? path.join(import.meta.dirname, 'results', stamp)),
  };
}

async function main(): Promise<number> {
  let opts: RunOptions;
  try {
    opts = parseCli(process.argv.slice(2));
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    process.stderr.write(`${msg ? `loadtest: ${msg}\n` : ''}${USAGE}\n`);
    return err instanceof UsageError && !msg ? 0 : 2;
  }
  if (opts.durationMs !== undefined && !(opts.durationMs > 0)) {
    process.stderr.write('loadtest: --duration must be a positive number of seconds\n');
    return 2;
  }
  const stop = new AbortController();
  process.on('SIGINT', () => {
    if (stop.signal.aborted) process.exit(130);
    process.stderr.write('\nloadtest: stopping (Ctrl-C again to exit now)\n');
    stop.abort();
  });
  const tty = process.stderr.isTTY;
  const progress = (line: string) => process.stderr.write(tty ? `\r${line}\x1b[K` : `${line}\n`);
  const log = (line: string) => process.stderr.write(tty ? `\r${line}\x1b[K\n` : `${line}\n`);
  const { result, outDir, ok } = await runLoadtest({ ...opts, progress, log, signal: stop.signal });
  if (tty) process.stderr.write('\n');
  const t = result.totals;
  const out = process.stdout;
  out.write(`\n${result.target.url}${result.target.embedded ? (result.target.nullEngines ? ` (embedded, null engines, delay ${result.target.nullDelayMs} ms)` : ' (embedded, real engines)') : ''}\n`);
  out.write(`${t.sessions} sessions over ${opts.nWorkers} workers in ${(result.durationMs / 1000).toFixed(1)} s: connected ${t.connected}, turns completed ${t.turnsCompleted}/${opts.durationMs === undefined ? opts.sessions * opts.turns : t.turns}, failed sessions ${t.failedSessions}, dropped ${t.droppedSessions}, errors ${t.errors}\n\n`);
  out.write(`${formatSummaryTable(result.summaries)}\n`);
  const m = result.machine;
  out.write(`\nmachine: ${m.cpus} cores, load average ${m.loadavgStart.toFixed(2)} -> ${m.loadavgEnd.toFixed(2)}; loadtest client ${result.clientCpuSeconds.toFixed(1)} CPU s\n`);
  if (result.server) out.write(`${formatServerFigures(result.server)}\n`);
  const kinds = Object.entries(result.errors).sort((a, b) => b[1] - a[1]);
  if (kinds.length) out.write(`\nerrors by kind:\n${kinds.map(([k, n]) => `  ${String(n).padStart(5)}  ${k}`).join('\n')}\n`);
  for (const f of result.fatal) out.write(`\n${f}\n`);
  out.write(`\nresult: ${path.join(outDir, 'result.json')}\nreport: ${path.join(outDir, 'report.html')}\n`);
  return ok ? 0 : 1;
}

// Run only as the entry point: the test imports parseCli.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // exitCode, not exit(): output to a pipe is written asynchronously and must not be cut off.
  const end = (code: number) => {
    process.exitCode = code;
    setTimeout(() => process.exit(code), 5_000).unref();
  };
  main().then(end, (err: unknown) => {
    process.stderr.write(`loadtest: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    end(1);
  });
}
