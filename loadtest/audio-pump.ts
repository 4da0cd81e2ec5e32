// A session's microphone: sends `input_audio_buffer.append` at real-time pace on a fixed grid
// (chunk k is due at t0 + k * chunkMs), playing queued utterances and digital silence in between,
// so server VAD always hears a continuous stream. It reports when the chunks holding an utterance's
// first and last voiced samples left, and the frame lag (how late each append was vs its schedule).
import { setTimeout as sleep } from 'node:timers/promises';
import { quantileSorted } from './stats.ts';
import type { FrameLagStats } from './types.ts';

const RATE = 24_000;
const LATE_MS = 20;

export interface PlayMarks {
  /** Send time of the append holding the first / last voiced sample. */
  readonly audioStart: number;
  readonly audioEnd: number;
}

interface Playing {
  readonly pcm: Uint8Array;
  offset: number;
  readonly voicedStart: number; // byte offsets
  readonly voicedEnd: number;
  audioStart?: number;
  audioEnd?: number;
  readonly resolve: (m: PlayMarks) => void;
  readonly reject: (err: Error) => void;
}

export interface AudioPumpOptions {
  readonly chunkMs: number;
  readonly now: () => number;
  /** Sends one base64 chunk; false when the socket is gone, which stops the pump. */
  readonly send: (audioB64: string) => boolean;
  readonly signal: AbortSignal;
}

export function chunkSamples(chunkMs: number): number {
  return Math.round((RATE * chunkMs) / 1000);
}

export function createAudioPump(opts: AudioPumpOptions) {
  const chunkBytes = chunkSamples(opts.chunkMs) * 2;
  const silenceB64 = Buffer.alloc(chunkBytes).toString('base64');
  const queue: Playing[] = [];
  let lags: number[] = [];
  let stopped = false;

  const nextChunk = (sentAt: number): string => {
    const p = queue[0];
    if (!p) return silenceB64;
    const from = p.offset;
    const to = Math.min(p.pcm.length, from + chunkBytes);
    p.offset = to;
    if (p.audioStart === undefined && p.voicedStart < to) p.audioStart = sentAt;
    if (p.audioEnd === undefined && p.voicedEnd <= to) p.audioEnd = sentAt;
    if (to >= p.pcm.length) {
      queue.shift();
      p.resolve({ audioStart: p.audioStart ?? sentAt, audioEnd: p.audioEnd ?? sentAt });
    }
    return Buffer.from(p.pcm.buffer, p.pcm.byteOffset + from, to - from).toString('base64');
  };

  const loop = async (): Promise<void> => {
    const t0 = opts.now();
    for (let k = 0; !stopped; k++) {
      const due = t0 + k * opts.chunkMs;
      const wait = due - opts.now();
      if (wait > 0) await sleep(wait, undefined, { signal: opts.signal }).catch(() => undefined);
      if (stopped || opts.signal.aborted) break;
      const sentAt = opts.now();
      lags.push(Math.max(0, sentAt - due));
      if (!opts.send(nextChunk(sentAt))) break;
    }
    stopped = true;
    for (const p of queue.splice(0)) p.reject(new Error('audio pump stopped'));
  };
  const running = loop();

  return {
    /** Queues an utterance (PCM16 24 kHz); resolves once its last chunk is sent. */
    play(pcm: Uint8Array, voiced: { start: number; end: number }): Promise<PlayMarks> {
      if (stopped) return Promise.reject(new Error('audio pump stopped'));
      return new Promise<PlayMarks>((resolve, reject) => {
        queue.push({ pcm, offset: 0, voicedStart: voiced.start * 2, voicedEnd: voiced.end * 2, resolve, reject });
      });
    },
    /** Lag of every append since the last call. */
    takeLag(): FrameLagStats {
      const xs = lags.sort((a, b) => a - b);
      lags = [];
      const mean = xs.length ? xs.reduce((s, v) => s + v, 0) / xs.length : 0;
      return { count: xs.length, meanMs: mean, p99Ms: quantileSorted(xs, 0.99) || 0, maxMs: xs[xs.length - 1] ?? 0, late: xs.filter((v) => v > LATE_MS).length };
    },
    async stop(): Promise<void> {
      stopped = true;
      await running;
    },
  };
}

export type AudioPump = ReturnType<typeof createAudioPump>;
