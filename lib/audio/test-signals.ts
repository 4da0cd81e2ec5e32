// Signal generators and meters shared by the lib/audio tests (not exported from
// index.ts): pure tones, a seeded PRNG for random chunkings, and a
// Hann-windowed single-bin DFT to measure the level of one frequency.

import { seededRandom } from '../../test/support/random.ts';
import { writePcm16 } from './pcm.ts';

/** PCM16 sine of `samples` samples at `freq` Hz with peak amplitude `peak` (in int16 units). */
export function sinePcm16(freq: number, rate: number, samples: number, peak = 16384, phase = 0): Uint8Array {
  const out = new Uint8Array(samples * 2);
  for (let i = 0; i < samples; i++) writePcm16(out, i, peak * Math.sin((2 * Math.PI * freq * i) / rate + phase));
  return out;
}

/**
 * Peak amplitude (int16 units) of the `freq` component of samples
 * [from, to) of a PCM16 buffer. Hann-windowed so that a strong tone elsewhere
 * in the spectrum does not leak into the measurement.
 */
export function toneAmplitude(pcm16: Uint8Array, freq: number, rate: number, from = 0, to = pcm16.length >> 1): number {
  let re = 0;
  let im = 0;
  let windowSum = 0;
  const n = to - from;
  for (let i = 0; i < n; i++) {
    const j = (from + i) * 2;
    const s = (((pcm16[j] as number) | ((pcm16[j + 1] as number) << 8)) << 16) >> 16;
    const w = 0.5 - 0.5 * Math.cos((2 * Math.PI * (i + 0.5)) / n);
    const angle = (2 * Math.PI * freq * (from + i)) / rate;
    re += w * s * Math.cos(angle);
    im -= w * s * Math.sin(angle);
    windowSum += w;
  }
  return (2 * Math.hypot(re, im)) / windowSum;
}

/** 20*log10(a/b), with silence reported as -Infinity rather than NaN. */
export function ratioDb(a: number, b: number): number {
  return a === 0 ? -Infinity : 20 * Math.log10(a / b);
}


/** Splits `bytes` into random-length views (0 to maxChunk bytes, odd lengths included). */
export function randomChunks(bytes: Uint8Array, random: () => number, maxChunk: number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let off = 0; off < bytes.length; ) {
    const len = Math.min(bytes.length - off, Math.floor(random() * (maxChunk + 1)));
    chunks.push(bytes.subarray(off, off + len));
    off += len;
  }
  return chunks;
}

/** Copies `bytes` to an odd byteOffset, as a pooled Node Buffer slice might be. */
export function unaligned(bytes: Uint8Array): Uint8Array {
  const backing = new Uint8Array(bytes.length + 1);
  backing.set(bytes, 1);
  return backing.subarray(1);
}

/**
 * Least-squares fit of A*sin(2*pi*freq*t + phase) + dc to samples [from, to).
 * `residualDb` is the level of everything else (aliases, images, noise)
 * relative to the fitted tone, i.e. minus the SINAD.
 */
export function fitSine(
  pcm16: Uint8Array,
  freq: number,
  rate: number,
  from = 0,
  to = pcm16.length >> 1,
): { amplitude: number; phase: number; residualDb: number } {
  // Normal equations for the basis [sin, cos, 1].
  const m = [0, 0, 0, 0, 0, 0, 0, 0, 0];
  const v = [0, 0, 0];
  const sample = (i: number) => (((pcm16[2 * i] as number) | ((pcm16[2 * i + 1] as number) << 8)) << 16) >> 16;
  for (let i = from; i < to; i++) {
    const w = (2 * Math.PI * freq * i) / rate;
    const basis = [Math.sin(w), Math.cos(w), 1];
    const y = sample(i);
    for (let r = 0; r < 3; r++) {
      v[r] = (v[r] as number) + (basis[r] as number) * y;
      for (let c = 0; c < 3; c++) m[r * 3 + c] = (m[r * 3 + c] as number) + (basis[r] as number) * (basis[c] as number);
    }
  }
  const [s, c, dc] = solve3(m, v);
  let residual = 0;
  for (let i = from; i < to; i++) {
    const w = (2 * Math.PI * freq * i) / rate;
    const e = sample(i) - (s * Math.sin(w) + c * Math.cos(w) + dc);
    residual += e * e;
  }
  const amplitude = Math.hypot(s, c);
  const residualRms = Math.sqrt(residual / (to - from));
  return { amplitude, phase: Math.atan2(c, s), residualDb: ratioDb(residualRms, amplitude / Math.SQRT2) };
}

function solve3(m: number[], v: number[]): [number, number, number] {
  const a = (r: number, c: number) => m[r * 3 + c] as number;
  const det3 = (c0: number[], c1: number[], c2: number[]) =>
    (c0[0] as number) * ((c1[1] as number) * (c2[2] as number) - (c2[1] as number) * (c1[2] as number)) -
    (c1[0] as number) * ((c0[1] as number) * (c2[2] as number) - (c2[1] as number) * (c0[2] as number)) +
    (c2[0] as number) * ((c0[1] as number) * (c1[2] as number) - (c1[1] as number) * (c0[2] as number));
  const col = (c: number) => [a(0, c), a(1, c), a(2, c)];
  const d = det3(col(0), col(1), col(2));
  return [det3(v, col(1), col(2)) / d, det3(col(0), v, col(2)) / d, det3(col(0), col(1), v) / d];
}

export { seededRandom };
