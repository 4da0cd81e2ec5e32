// A session's microphone: sends `input_audio_buffer.append` at real-time pace on a fixed grid
// (chunk k is due at t0 + k * chunkMs), playing queued utterances and digital silence in between,
// so server VAD always hears a continuous stream. It reports when the chunks holding an utterance's
// first and last voiced samples left, and the frame lag (how late each append was vs its schedule).
// Appends are encoded once per worker (encodeAppends): the client's own CPU must not be the load.
import { quantileSorted } from './stats.ts';
import type { FrameLagStats } from './types.ts';
import { readPcm16, samplesToMs, writePcm16 } from '../lib/audio/index.ts';
import { whiteNoise } from '../test/support/speech.ts';

const RATE = 24_000;
const LATE_MS = 20;

/** An utterance as ready-to-send append messages, with the chunks holding its first and last voiced sample. */
export interface EncodedAudio {
  /** UTF-8 JSON, ready for a text frame: no string encoded per send. */
  readonly messages: readonly Buffer[];
  readonly voicedStartChunk: number;
  readonly voicedEndChunk: number;
}

export interface PlayMarks {
  /** Send time of the append holding the first / last voiced sample. */
  readonly audioStart: number;
  readonly audioEnd: number;
}

/** The loudest and quietest microphone floor `--noise-dbfs` takes. */
const NOISE_DBFS_RANGE = [-120, -10] as const;

/** `--noise-dbfs` as a level, or a RangeError naming the range (and the `=` a negative value needs). */
export function parseNoiseDbfs(text: string): number {
  const n = Number(text);
  const [lo, hi] = NOISE_DBFS_RANGE;
  if (text.trim() === '' || !(n >= lo && n <= hi)) throw new RangeError(`--noise-dbfs must be a level between ${lo} and ${hi} dBFS, written --noise-dbfs=-55 (got '${text}')`);
  return n;
}

/**
 * `pcm` with white noise at `dbfs` RMS (whiteNoise, seeded) added, clipped to 16 bits: a
 * microphone's floor instead of digital silence. Same arguments, same bytes.
 */
export function withNoise(pcm: Uint8Array, dbfs: number, seed: number): Uint8Array {
  const samples = pcm.length >> 1;
  const out = whiteNoise(samplesToMs(samples, RATE), dbfs, RATE, seed);
  for (let i = 0; i < samples; i++) writePcm16(out, i, readPcm16(out, i) + readPcm16(pcm, i));
  return out;
}

export function chunkSamples(chunkMs: number): number {
  return Math.round((RATE * chunkMs) / 1000);
}

const appendMessage = (pcm: Uint8Array) => Buffer.from(JSON.stringify({ type: 'input_audio_buffer.append', audio: Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength).toString('base64') }));

/** Cuts PCM16 24 kHz into `chunkMs` appends (the last one padded with silence). */
export function encodeAppends(pcm: Uint8Array, voiced: { start: number; end: number }, chunkMs: number, noiseDbfs?: number): EncodedAudio {
  const size = chunkSamples(chunkMs);
  const chunks = Math.ceil(pcm.length / 2 / size);
  let padded: Uint8Array = new Uint8Array(chunks * size * 2);
  padded.set(pcm);
  if (noiseDbfs !== undefined) padded = withNoise(padded, noiseDbfs, pcm.length);
  const messages = Array.from({ length: chunks }, (_, i) => appendMessage(padded.subarray(i * size * 2, (i + 1) * size * 2)));
  return { messages, voicedStartChunk: Math.floor(voiced.start / size), voicedEndChunk: Math.floor((voiced.end - 1) / size) };
}

interface Playing {
  readonly audio: EncodedAudio;
  next: number;
  audioStart?: number;
  audioEnd?: number;
  readonly resolve: (m: PlayMarks) => void;
  readonly reject: (err: Error) => void;
}

export interface AudioPumpOptions {
  readonly chunkMs: number;
  readonly now: () => number;
  /** Sends one serialized client event (as a text frame); false when the socket is gone, which stops the pump. */
  readonly send: (message: Buffer) => boolean;
  readonly signal: AbortSignal;
  /** Noise floor of the silence between utterances (see withNoise); undefined: digital silence. */
  readonly noiseDbfs?: number | undefined;
}

/** Distinct silence appends cycled through, so a noise floor is not one repeated 40 ms loop. */
const SILENCE_VARIANTS = 25;

export function createAudioPump(opts: AudioPumpOptions) {
  const zeros = new Uint8Array(chunkSamples(opts.chunkMs) * 2);
  const silences = opts.noiseDbfs === undefined ? [appendMessage(zeros)] : Array.from({ length: SILENCE_VARIANTS }, (_, i) => appendMessage(withNoise(zeros, opts.noiseDbfs!, i + 1)));
  let silent = 0;
  const queue: Playing[] = [];
  let lags: number[] = [];
  let stopped = false;

  const nextMessage = (sentAt: number): Buffer => {
    const p = queue[0];
    if (!p) return silences[silent++ % silences.length]!;
    const i = p.next++;
    if (i === p.audio.voicedStartChunk) p.audioStart = sentAt;
    if (i === p.audio.voicedEndChunk) p.audioEnd = sentAt;
    if (p.next >= p.audio.messages.length) {
      queue.shift();
      p.resolve({ audioStart: p.audioStart ?? sentAt, audioEnd: p.audioEnd ?? sentAt });
    }
    return p.audio.messages[i]!;
  };

  const loop = async (): Promise<void> => {
    const t0 = opts.now();
    for (let k = 0; !stopped; k++) {
      const due = t0 + k * opts.chunkMs;
      const wait = due - opts.now();
      // A plain timer: an abortable one adds and removes a signal listener per append (7,500 a
      // second at 300 sessions), and an abort is seen within one chunk anyway.
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      if (stopped || opts.signal.aborted) break;
      const sentAt = opts.now();
      lags.push(Math.max(0, sentAt - due));
      if (!opts.send(nextMessage(sentAt))) break;
    }
    stopped = true;
    for (const p of queue.splice(0)) p.reject(new Error('audio pump stopped'));
  };
  const running = loop();

  return {
    /** Queues an utterance; resolves once its last chunk is sent. */
    play(audio: EncodedAudio): Promise<PlayMarks> {
      if (stopped) return Promise.reject(new Error('audio pump stopped'));
      return new Promise<PlayMarks>((resolve, reject) => queue.push({ audio, next: 0, resolve, reject }));
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
