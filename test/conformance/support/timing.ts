// Timing instruments for the barge-in measurements: a pass-through HTTP proxy in front of the fake
// provider that notes when Parley abandons an upstream request (its LLM stream or TTS download is
// aborted: the worker stopped), a real-time "microphone" that streams silence between utterances
// and reports when the first voiced sample of each utterance left, and Prometheus histogram reading.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { voicedRange } from '../../support/speech.ts';
import type { Conn } from './clients.ts';

export interface ProxiedRequest {
  readonly path: string;
  readonly startedAt: number;
  endedAt?: number;
  /** Parley closed the request before the upstream answer was complete. */
  abortedAt?: number;
}

export interface AbortWatch {
  readonly baseURL: string;
  readonly requests: ProxiedRequest[];
  close(): Promise<void>;
}

/**
 * `rewriteEvent` may edit each server-sent event of a streamed answer (one `data: …` line), e.g. to
 * make the provider report finish_reason "length", which the fake cannot script.
 */
export async function startAbortWatch(targetBaseURL: string, opts: { rewriteEvent?: (data: string) => string } = {}): Promise<AbortWatch> {
  const target = new URL(targetBaseURL);
  const requests: ProxiedRequest[] = [];
  const server = http.createServer((req, res) => {
    const entry: ProxiedRequest = { path: (req.url ?? '').replace(/\?.*$/, ''), startedAt: performance.now() };
    requests.push(entry);
    const upstream = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.on('end', () => (entry.endedAt ??= performance.now()));
      const rewrite = opts.rewriteEvent;
      if (!rewrite || !String(up.headers['content-type']).startsWith('text/event-stream')) {
        up.pipe(res);
        return;
      }
      let pending = '';
      up.on('data', (chunk: Buffer) => {
        pending += chunk.toString('utf8');
        const events = pending.split('\n\n');
        pending = events.pop() ?? '';
        for (const e of events) res.write(`${rewrite(e)}\n\n`);
      });
      up.on('end', () => res.end(pending));
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
    res.on('close', () => {
      if (!res.writableFinished) {
        entry.abortedAt = performance.now();
        upstream.destroy();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}${target.pathname}`,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** A microphone streaming 40 ms appends in real time: queued speech, silence otherwise. */
export class Microphone {
  private readonly queue: Array<{ pcm: Uint8Array; started: (at: number) => void; ended: (at: number) => void; atMs: (ms: number) => void; offset: number }> = [];
  private running = false;
  /** Audio appended so far (ms of the session's input timeline). */
  private sentMs = 0;
  private loop: Promise<void> = Promise.resolve();
  private static readonly CHUNK = 960 * 2;
  private readonly silenceChunk: Uint8Array = new Uint8Array(Microphone.CHUNK);

  constructor(private readonly conn: Conn) {
    // A closed socket ends the stream (and never keeps the process alive).
    void conn.closed.then(() => (this.running = false));
  }

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  /**
   * Queue speech (trimmed to its voiced range). `started` / `ended`: when its first and last samples
   * were sent; `offsetMs`: where it starts on the input timeline (what audio_start_ms counts).
   */
  say(pcm: Uint8Array): { started: Promise<number>; ended: Promise<number>; offsetMs: Promise<number> } {
    const range = voicedRange(pcm);
    const voiced = range ? pcm.subarray(range.start * 2, range.end * 2) : pcm;
    let started!: (at: number) => void;
    let ended!: (at: number) => void;
    let atMs!: (ms: number) => void;
    const p = { started: new Promise<number>((r) => (started = r)), ended: new Promise<number>((r) => (ended = r)), offsetMs: new Promise<number>((r) => (atMs = r)) };
    this.queue.push({ pcm: voiced, started, ended, atMs, offset: 0 });
    return p;
  }

  private async run(): Promise<void> {
    const t0 = performance.now();
    for (let n = 0; this.running; n++) {
      const head = this.queue[0];
      let chunk = this.silenceChunk;
      if (head) {
        if (head.offset === 0) {
          head.started(performance.now());
          head.atMs(this.sentMs);
        }
        chunk = head.pcm.subarray(head.offset, head.offset + Microphone.CHUNK);
        head.offset += chunk.length;
        if (head.offset >= head.pcm.length) {
          this.queue.shift();
          head.ended(performance.now());
        }
      }
      this.conn.send({ type: 'input_audio_buffer.append', audio: Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('base64') });
      this.sentMs += chunk.length / 48;
      const wait = t0 + (n + 1) * 40 - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  }
}

export interface Histogram {
  count: number;
  sum: number;
  /** Cumulative counts by upper bound (seconds). */
  buckets: Array<{ le: number; count: number }>;
}

/** One labelled histogram from Prometheus text exposition. */
export function readHistogram(text: string, name: string, labels: Record<string, string>): Histogram {
  const match = (line: string) => Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
  const value = (line: string) => Number(line.slice(line.lastIndexOf(' ') + 1));
  const lines = text.split('\n').filter((l) => l.startsWith(name) && match(l));
  const buckets = lines
    .filter((l) => l.startsWith(`${name}_bucket`))
    .map((l) => ({ le: Number(/le="([^"]+)"/.exec(l)?.[1] === '+Inf' ? Infinity : /le="([^"]+)"/.exec(l)?.[1]), count: value(l) }));
  return { count: value(lines.find((l) => l.startsWith(`${name}_count`)) ?? ' 0'), sum: value(lines.find((l) => l.startsWith(`${name}_sum`)) ?? ' 0'), buckets };
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
