// Offline STT with CMU PocketSphinx (Debian packages `pocketsphinx`, `pocketsphinx-en-us`): weak,
// but real and local. Loading the acoustic model takes ~300 ms of the ~800 ms a short utterance
// costs, so decoders are started ahead of time and wait, model loaded, for their audio on stdin
// (a pool as large as the stage's concurrency). pocketsphinx opens its input by name and cannot
// open Node's stdio socket, so `cat` gives it a real pipe.
import { spawn, type ChildProcess } from 'node:child_process';
import { encodeWav, resamplePcm16 } from '../../lib/audio/index.ts';
import { CancelledError, EngineError } from '../../lib/errors.ts';
import type { SttEngine } from './engine.ts';

const RATE = 16_000;
const MAX_OUTPUT = 1 << 20;

interface WarmDecoder {
  readonly child: ChildProcess;
  readonly result: Promise<string>;
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function startDecoder(binary: string): WarmDecoder {
  const cmd = `cat | exec ${shellQuote(binary)} -infile /dev/stdin -samprate ${RATE} -logfn /dev/null`;
  // Own process group, so a timeout or cancel kills cat and the decoder together.
  const child = spawn('sh', ['-c', cmd], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  const out: Buffer[] = [];
  let bytes = 0;
  let err = '';
  child.stdout!.on('data', (b: Buffer) => {
    bytes += b.length;
    if (bytes <= MAX_OUTPUT) out.push(b);
  });
  child.stderr!.on('data', (b: Buffer) => {
    if (err.length < 2000) err += b.toString();
  });
  child.stdin!.on('error', () => undefined);
  const result = new Promise<string>((resolve, reject) => {
    child.once('error', (e) => reject(new EngineError('pocketsphinx', 'engine_unavailable', `cannot start pocketsphinx: ${e.message}`, { cause: e })));
    child.once('close', (code, signal) => {
      if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
      else if (signal) reject(new CancelledError(`pocketsphinx killed by ${signal}`));
      else {
        const missing = code === 127 || /not found/.test(err);
        reject(new EngineError('pocketsphinx', missing ? 'engine_unavailable' : 'engine_error', missing ? `${binary} is not installed (apt-get install pocketsphinx pocketsphinx-en-us)` : `pocketsphinx exited with ${code}: ${err.trim().slice(0, 300)}`, { retryable: !missing }));
      }
    });
  });
  result.catch(() => undefined); // a warm decoder may be discarded unused
  return { child, result };
}

function kill(d: WarmDecoder): void {
  if (d.child.exitCode === null && d.child.pid) {
    try {
      process.kill(-d.child.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

export function createPocketsphinxEngine(opts: { timeoutMs: number; binary?: string; warm?: number }): SttEngine {
  const binary = opts.binary ?? 'pocketsphinx_continuous';
  const warmTarget = opts.warm ?? 2;
  const pool: WarmDecoder[] = [];
  let closed = false;
  const refill = () => {
    while (!closed && pool.length < warmTarget) pool.push(startDecoder(binary));
  };
  const take = (): WarmDecoder => {
    let d = pool.shift();
    while (d && d.child.exitCode !== null) d = pool.shift();
    const decoder = d ?? startDecoder(binary);
    refill();
    return decoder;
  };
  refill();
  return {
    name: 'pocketsphinx',
    capabilities: { streaming: false, languages: ['en'] },
    async transcribe(req) {
      if (req.signal.aborted) throw new CancelledError();
      const decoder = take();
      const onAbort = () => kill(decoder);
      req.signal.addEventListener('abort', onAbort, { once: true });
      const timer = setTimeout(() => kill(decoder), opts.timeoutMs);
      try {
        decoder.child.stdin!.end(encodeWav(resamplePcm16(req.audio, req.sampleRate, RATE), RATE));
        const raw = await decoder.result;
        // One line per segment it found; blank lines are segments without words.
        const text = raw
          .split('\n')
          .map((l) => l.trim())
          .filter(Boolean)
          .join(' ');
        return { text };
      } catch (err) {
        if (req.signal.aborted) throw new CancelledError();
        if (err instanceof CancelledError) throw new EngineError('pocketsphinx', 'engine_timeout', `pocketsphinx did not finish within ${opts.timeoutMs} ms`, { retryable: true });
        throw err;
      } finally {
        clearTimeout(timer);
        req.signal.removeEventListener('abort', onAbort);
      }
    },
    async close() {
      closed = true;
      // Idle decoders get an empty input and exit by themselves (no orphans left to reap).
      for (const d of pool.splice(0)) d.child.stdin!.end();
    },
  };
}
