// Test-only audio fixtures: real speech from the Debian `espeak-ng` binary,
// silence, seeded white noise, and utterance tracks with ground-truth speech
// regions for VAD / turn-detection / STT tests. Everything is PCM16 mono at
// 24 kHz (the bus format) unless a rate is passed.

import { seededRandom as mulberry32 } from './random.ts';
import { execFile } from 'node:child_process';
import { concatBytes, decodeWav, msToSamples, resamplePcm16, rmsDbfs, samplesToMs } from '../../lib/audio/index.ts';

const BUS_RATE = 24000;
const ESPEAK_BIN = 'espeak-ng';
/** A 10 ms window counts as voiced above this level; espeak's own padding sits far below it. */
const VOICED_DBFS = -40;
const VOICED_WINDOW_MS = 10;

export interface SpeechOptions {
  /** espeak-ng voice name; default 'en-us' (pinned so fixtures do not depend on the system default). */
  voice?: string;
  /** Words per minute; espeak-ng default 175. */
  wpm?: number;
  /** Pitch 0-99; espeak-ng default 50. */
  pitch?: number;
}

export type TrackPart = { text: string } | { silenceMs: number };

export interface SpeechSegment {
  startMs: number;
  endMs: number;
  text: string;
}

/** Synthesises `text` with espeak-ng and returns PCM16 mono at 24 kHz (espeak writes 22050 Hz). */
export async function synthesizeSpeech(text: string, opts: SpeechOptions = {}): Promise<Uint8Array> {
  const args = ['--stdout', '--stdin', '-v', opts.voice ?? 'en-us'];
  if (opts.wpm !== undefined) args.push('-s', String(Math.round(opts.wpm)));
  if (opts.pitch !== undefined) args.push('-p', String(Math.round(opts.pitch)));
  // Text goes in on stdin, so text starting with '-' can never be read as a flag.
  const wavBytes = await new Promise<Uint8Array>((resolve, reject) => {
    const child = execFile(ESPEAK_BIN, args, { encoding: 'buffer', maxBuffer: 256 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`espeak-ng failed for ${JSON.stringify(text)}: ${stderr.toString().trim() || err.message}`));
      else resolve(new Uint8Array(stdout.buffer, stdout.byteOffset, stdout.byteLength));
    });
    child.stdin?.end(text);
  });
  if (wavBytes.length === 0) throw new Error(`espeak-ng produced no audio for ${JSON.stringify(text)}`);
  const wav = decodeWav(wavBytes);
  return resamplePcm16(wav.pcm16, wav.sampleRate, BUS_RATE);
}

/** `ms` of digital silence. */
export function silence(ms: number, rate = BUS_RATE): Uint8Array {
  return new Uint8Array(msToSamples(ms, rate) * 2);
}

/**
 * `ms` of uniform white noise whose RMS is exactly `dbfs` (0 dBFS = full-scale
 * square, as in rmsDbfs). Same arguments, same bytes: the PRNG is seeded.
 * Above about -4.8 dBFS the uniform peaks exceed full scale and get clipped.
 */
export function whiteNoise(ms: number, dbfs: number, rate = BUS_RATE, seed = 0x5eed): Uint8Array {
  const n = msToSamples(ms, rate);
  const raw = new Float64Array(n);
  const next = mulberry32(seed);
  let sumSquares = 0;
  for (let i = 0; i < n; i++) {
    const v = next() * 2 - 1;
    raw[i] = v;
    sumSquares += v * v;
  }
  const out = new Uint8Array(n * 2);
  if (n === 0 || sumSquares === 0) return out;
  // Scale by the measured RMS, not the theoretical 1/sqrt(3), so short bursts hit the level too.
  const gain = (32768 * 10 ** (dbfs / 20)) / Math.sqrt(sumSquares / n);
  for (let i = 0; i < n; i++) {
    let s = Math.round((raw[i] as number) * gain);
    if (s > 32767) s = 32767;
    else if (s < -32768) s = -32768;
    out[2 * i] = s & 0xff;
    out[2 * i + 1] = (s >> 8) & 0xff;
  }
  return out;
}

/**
 * Sample range [start, end) from the first to the last 10 ms window whose RMS
 * exceeds -40 dBFS, or null if nothing is voiced.
 */
export function voicedRange(pcm16: Uint8Array, rate = BUS_RATE): { start: number; end: number } | null {
  const window = msToSamples(VOICED_WINDOW_MS, rate);
  const samples = pcm16.length >> 1;
  let start = -1;
  let end = -1;
  for (let w = 0; w < samples; w += window) {
    const stop = Math.min(samples, w + window);
    if (rmsDbfs(pcm16.subarray(w * 2, stop * 2)) > VOICED_DBFS) {
      if (start < 0) start = w;
      end = stop;
    }
  }
  return start < 0 ? null : { start, end };
}

/**
 * Concatenates speech and silence into one 24 kHz track. Each spoken piece is
 * trimmed to its voiced range first, so `silenceMs` gaps are exact and each
 * segment's bounds are where the voice actually starts and stops.
 */
export async function buildUtteranceTrack(
  parts: TrackPart[],
  opts: SpeechOptions = {},
): Promise<{ pcm16: Uint8Array; segments: SpeechSegment[] }> {
  // espeak runs are independent processes, so synthesise them all at once.
  const audio = await Promise.all(parts.map((p) => ('text' in p ? synthesizeSpeech(p.text, opts) : Promise.resolve(silence(p.silenceMs)))));
  const chunks: Uint8Array[] = [];
  const segments: SpeechSegment[] = [];
  let offsetSamples = 0;
  parts.forEach((part, i) => {
    let chunk = audio[i] as Uint8Array;
    if ('text' in part) {
      const range = voicedRange(chunk);
      if (!range) throw new Error(`buildUtteranceTrack: espeak-ng output for ${JSON.stringify(part.text)} has no voiced audio`);
      chunk = chunk.subarray(range.start * 2, range.end * 2);
      segments.push({
        startMs: samplesToMs(offsetSamples, BUS_RATE),
        endMs: samplesToMs(offsetSamples + (range.end - range.start), BUS_RATE),
        text: part.text,
      });
    }
    chunks.push(chunk);
    offsetSamples += chunk.length >> 1;
  });
  return { pcm16: concatBytes(chunks), segments };
}

