// Streaming rational resampler for PCM16 mono (polyphase Kaiser-windowed sinc).
// Owns the chunk-boundary bookkeeping: history carried between pushes, the
// current polyphase phase, odd bytes split across chunks, and the end-of-stream
// tail, so that any chunking of a stream yields exactly the bytes a single
// one-shot call would.

import { pcm16ToFloat32 } from './pcm.ts';
import { polyphaseFilterFor, type PolyphaseFilter, type ResampleQuality } from './polyphase-filter.ts';
import { simdFir16 } from './fir16.ts';

export type { ResampleQuality } from './polyphase-filter.ts';

export interface ResamplerOptions {
  /** 'good' (default): 80 dB stopband, flat to 85% of Nyquist. 'fast': 60 dB, flat to 75%, about half the taps. 'analysis': 40 dB, for detectors only. */
  quality?: ResampleQuality;
  /** false: the 16-tap float path runs in JS, not WebAssembly SIMD (same output; for tests and benches). */
  simd?: boolean;
}

const EMPTY = new Uint8Array(0);
const EMPTY_RAW = new Float64Array(0);

/** Raw filter output (16-bit scale) to PCM16 bytes: rounded, and clamped so overload clips. */
function toPcm16(values: Float64Array): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  for (let n = 0, o = 0; n < values.length; n++, o += 2) {
    let v = Math.round(values[n] as number);
    if (v > 32767) v = 32767;
    else if (v < -32768) v = -32768;
    out[o] = v & 0xff;
    out[o + 1] = (v >> 8) & 0xff;
  }
  return out;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
let scratch = new Int16Array(0);

/** `bytes` (even length, at an odd address) copied into a reused aligned buffer, as samples. */
function alignedInt16(bytes: Uint8Array): Int16Array {
  const n = bytes.length >> 1;
  if (scratch.length < n) scratch = new Int16Array(Math.max(n, 2 * scratch.length));
  new Uint8Array(scratch.buffer, 0, bytes.length).set(bytes);
  return scratch.subarray(0, n);
}

export class Resampler {
  readonly fromRate: number;
  readonly toRate: number;
  /** null when fromRate === toRate: push() then hands the input straight back. */
  private readonly filter: PolyphaseFilter | null;
  private readonly simd: boolean;
  private history = new Float64Array(0);
  private historyLength = 0;
  /** Index in `history` of the first tap of the next output sample. */
  private tapStart = 0;
  private phase = 0;
  private inputSamples = 0;
  private outputSamples = 0;
  /** Low byte of a sample whose high byte has not arrived yet, or -1. */
  private pendingByte = -1;
  /**
   * How many samples at the end of `history` are zero. Digital silence (a muted or gated
   * microphone: often half of a voice session's input) then resamples to zeros without the
   * convolution: exact, since every tap multiplies a zero.
   */
  private zeroTail = 0;

  constructor(fromRate: number, toRate: number, opts: ResamplerOptions = {}) {
    for (const rate of [fromRate, toRate]) {
      if (!Number.isInteger(rate) || rate <= 0) throw new RangeError(`Resampler: sample rate must be a positive integer, got ${rate}`);
    }
    this.fromRate = fromRate;
    this.toRate = toRate;
    this.filter = fromRate === toRate ? null : polyphaseFilterFor(fromRate, toRate, opts.quality ?? 'good');
    this.simd = opts.simd ?? true;
    this.reset();
  }

  /** Resamples the next chunk. Output lags input by the filter half-width (about 2 ms for 24k->16k). */
  push(pcm16: Uint8Array): Uint8Array {
    if (!this.filter) return pcm16;
    this.append(pcm16);
    return toPcm16(this.drain(Number.POSITIVE_INFINITY));
  }

  /** Most samples the next push of `byteLength` bytes can produce (room to give pushFloat32Into). */
  maxOutputFor(byteLength: number): number {
    if (!this.filter) return (byteLength + 1) >> 1;
    const { up, down } = this.filter;
    return Math.ceil(((this.historyLength + (byteLength >> 1) + 2) * up) / down) + 1;
  }

  /**
   * Like push(), but the output is floats in [-1, 1) without rounding to 16 bits, written into the
   * caller's buffer at `offset` (which must have maxOutputFor() room): what a detector (Silero)
   * consumes, with no byte round trip and no allocation per chunk. Returns samples written.
   */
  pushFloat32Into(pcm16: Uint8Array, out: Float32Array, offset: number): number {
    if (!this.filter) {
      const floats = pcm16ToFloat32(pcm16);
      out.set(floats, offset);
      return floats.length;
    }
    this.append(pcm16);
    return this.drainInto(Number.POSITIVE_INFINITY, out, offset, 1 / 32768);
  }

  /**
   * Ends the stream: emits the tail so the total output is round(inputSamples * to / from)
   * samples, then resets so the instance can start a new stream.
   */
  flush(): Uint8Array {
    if (!this.filter) return EMPTY;
    const f = this.filter;
    const target = Math.floor((2 * this.inputSamples * f.up + f.down) / (2 * f.down));
    // Zero padding stands in for the samples after the end of the stream.
    this.ensureCapacity(this.historyLength + f.taps);
    this.history.fill(0, this.historyLength, this.historyLength + f.taps);
    this.historyLength += f.taps;
    this.zeroTail += f.taps;
    const tail = toPcm16(this.drain(Math.max(0, target - this.outputSamples)));
    this.reset();
    return tail;
  }

  /** Drops all buffered state, as if freshly constructed. */
  reset(): void {
    const halfWidth = this.filter?.halfWidth ?? 1;
    // Zeros before the first sample, so output 0 can be centred on input 0.
    this.historyLength = halfWidth - 1;
    this.ensureCapacity(this.historyLength);
    this.history.fill(0, 0, this.historyLength);
    this.zeroTail = this.historyLength;
    this.tapStart = 0;
    this.phase = 0;
    this.inputSamples = 0;
    this.outputSamples = 0;
    this.pendingByte = -1;
  }

  private append(bytes: Uint8Array): void {
    let byteIndex = 0;
    let count = 0;
    const carried = this.pendingByte >= 0 ? 1 : 0;
    const available = bytes.length + carried;
    const samples = available >> 1;
    this.ensureCapacity(this.historyLength + samples);
    const h = this.history;
    let w = this.historyLength;
    if (carried && samples > 0) {
      h[w++] = (((this.pendingByte | ((bytes[0] as number) << 8)) << 16) >> 16);
      byteIndex = 1;
      count = 1;
      this.pendingByte = -1;
    }
    if (LITTLE_ENDIAN && samples - count >= 32) {
      // Whole samples as an Int16Array (through an aligned copy when the input is not at an even
      // address): one native int -> float conversion instead of a loop assembling bytes.
      const n = samples - count;
      const at = bytes.byteOffset + byteIndex;
      const ints = at % 2 === 0 ? new Int16Array(bytes.buffer, at, n) : alignedInt16(bytes.subarray(byteIndex, byteIndex + 2 * n));
      h.set(ints, w);
      w += n;
      byteIndex += 2 * n;
      count = samples;
    }
    for (; count < samples; count++, byteIndex += 2) {
      h[w++] = ((((bytes[byteIndex] as number) | ((bytes[byteIndex + 1] as number) << 8)) << 16) >> 16);
    }
    if (byteIndex < bytes.length) this.pendingByte = bytes[byteIndex] as number;
    // Trailing zeros of what came in (speech rarely has any: the scan stops at once).
    const from = this.historyLength;
    let z = w;
    while (z > from && h[z - 1] === 0) z--;
    this.zeroTail = z === from ? this.zeroTail + (w - from) : w - z;
    this.historyLength = w;
    this.inputSamples += samples;
  }

  /**
   * Computes every output whose taps are all buffered (at most `limit`), unrounded in 16-bit scale,
   * then discards consumed history.
   */
  private drain(limit: number): Float64Array {
    const count = this.ready(limit);
    if (count <= 0) return EMPTY_RAW;
    const out = new Float64Array(count);
    this.drainInto(count, out, 0, 1);
    return out;
  }

  /** Outputs whose taps are all buffered (at most `limit`). */
  private ready(limit: number): number {
    const { up, down, taps } = this.filter as PolyphaseFilter;
    // Largest input advance r (from tapStart) that still has a full window buffered.
    const room = this.historyLength - taps - this.tapStart;
    const count = room < 0 ? 0 : Math.floor(((room + 1) * up - this.phase + down - 1) / down);
    return count > limit ? limit : count;
  }

  /** drain() into `out` from `offset`, each value times `scale`; returns how many were written. */
  private drainInto(limit: number, out: Float32Array | Float64Array, offset: number, scale: number): number {
    const { up, down, taps, coeffs } = this.filter as PolyphaseFilter;
    const count = this.ready(limit);
    if (count <= 0) return 0;
    if (offset + count > out.length) throw new RangeError(`Resampler: ${count} samples do not fit at ${offset} of ${out.length}`);
    const h = this.history;
    const stepWhole = Math.floor(down / up);
    const stepFrac = down % up;
    let start = this.tapStart;
    let phase = this.phase;
    if (this.zeroTail >= this.historyLength - start) {
      // Every tap of every output here reads a zero.
      out.fill(0, offset, offset + count);
      return this.finishAfter(count, start, phase);
    }
    const simd = taps === 16 && this.simd && out instanceof Float32Array ? simdFir16() : null;
    if (simd) {
      // The VAD's path (floats for Silero): the same sums in WebAssembly SIMD (fir16.ts).
      simd.run(h, start, coeffs, out as Float32Array, offset, count, phase, stepWhole, stepFrac, up, scale);
      return this.finishAfter(count, start, phase);
    }
    if (taps === 16) {
      // The VAD's 'analysis' filter (24 -> 16 kHz) has 16 taps: fully unrolled, with the same
      // accumulators summed in the same order as the loop below (identical output). A loop of its
      // own, phase bookkeeping repeated: one loop branching per sample lost the whole gain (VAD
      // path 11.1 vs 13.8 us per 40 ms separate, 13.4 merged; min of 15, interleaved, one process).
      for (let n = 0; n < count; n++) {
        const b = phase * 16;
        const s = start;
        const a0 = (coeffs[b] as number) * (h[s] as number) + (coeffs[b + 4] as number) * (h[s + 4] as number) + (coeffs[b + 8] as number) * (h[s + 8] as number) + (coeffs[b + 12] as number) * (h[s + 12] as number);
        const a1 = (coeffs[b + 1] as number) * (h[s + 1] as number) + (coeffs[b + 5] as number) * (h[s + 5] as number) + (coeffs[b + 9] as number) * (h[s + 9] as number) + (coeffs[b + 13] as number) * (h[s + 13] as number);
        const a2 = (coeffs[b + 2] as number) * (h[s + 2] as number) + (coeffs[b + 6] as number) * (h[s + 6] as number) + (coeffs[b + 10] as number) * (h[s + 10] as number) + (coeffs[b + 14] as number) * (h[s + 14] as number);
        const a3 = (coeffs[b + 3] as number) * (h[s + 3] as number) + (coeffs[b + 7] as number) * (h[s + 7] as number) + (coeffs[b + 11] as number) * (h[s + 11] as number) + (coeffs[b + 15] as number) * (h[s + 15] as number);
        out[offset + n] = (a0 + a1 + (a2 + a3)) * scale;
        start += stepWhole;
        phase += stepFrac;
        if (phase >= up) {
          phase -= up;
          start++;
        }
      }
      return this.finishDrain(count, start, phase);
    }
    for (let n = 0; n < count; n++) {
      const base = phase * taps;
      // Four independent accumulators shorten the floating-point dependency
      // chain: ~20% faster in V8 than one running sum (see bench-resample.ts).
      let acc0 = 0;
      let acc1 = 0;
      let acc2 = 0;
      let acc3 = 0;
      let k = 0;
      for (; k + 3 < taps; k += 4) {
        acc0 += (coeffs[base + k] as number) * (h[start + k] as number);
        acc1 += (coeffs[base + k + 1] as number) * (h[start + k + 1] as number);
        acc2 += (coeffs[base + k + 2] as number) * (h[start + k + 2] as number);
        acc3 += (coeffs[base + k + 3] as number) * (h[start + k + 3] as number);
      }
      for (; k < taps; k++) acc0 += (coeffs[base + k] as number) * (h[start + k] as number);
      out[offset + n] = (acc0 + acc1 + (acc2 + acc3)) * scale;
      start += stepWhole;
      phase += stepFrac;
      if (phase >= up) {
        phase -= up;
        start++;
      }
    }
    return this.finishDrain(count, start, phase);
  }

  /** finishDrain for `count` outputs computed from (start, phase) without stepping through them. */
  private finishAfter(count: number, start: number, phase: number): number {
    const { up, down } = this.filter as PolyphaseFilter;
    const fracs = phase + count * (down % up);
    return this.finishDrain(count, start + count * Math.floor(down / up) + Math.floor(fracs / up), fracs % up);
  }

  /** After `count` outputs: keep the phase, slide the still-needed history to the front (the buffer never grows with stream length). */
  private finishDrain(count: number, start: number, phase: number): number {
    this.phase = phase;
    this.outputSamples += count;
    this.history.copyWithin(0, start, this.historyLength);
    this.historyLength -= start;
    if (this.zeroTail > this.historyLength) this.zeroTail = this.historyLength;
    this.tapStart = 0;
    return count;
  }

  private ensureCapacity(samples: number): void {
    if (samples <= this.history.length) return;
    const grown = new Float64Array(Math.max(samples, this.history.length * 2, 1024));
    grown.set(this.history.subarray(0, this.historyLength));
    this.history = grown;
  }
}

/** One-shot resample of a whole PCM16 buffer. Identity returns the input unchanged (same object). */
export function resamplePcm16(pcm16: Uint8Array, fromRate: number, toRate: number, opts?: ResamplerOptions): Uint8Array {
  if (fromRate === toRate) return pcm16;
  const r = new Resampler(fromRate, toRate, opts);
  const body = r.push(pcm16);
  const tail = r.flush();
  if (tail.length === 0) return body;
  const out = new Uint8Array(body.length + tail.length);
  out.set(body, 0);
  out.set(tail, body.length);
  return out;
}
