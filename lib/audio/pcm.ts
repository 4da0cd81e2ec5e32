// PCM16 helpers. Owns the bus format: signed 16-bit little-endian mono.
// Every reader here assembles samples byte-by-byte instead of viewing the bytes
// as an Int16Array, because Node Buffers sliced from the shared pool can start
// at an odd byteOffset (Int16Array views would throw) and views would also
// silently depend on host endianness.

/** Number of whole 16-bit samples in a PCM16 byte buffer (a trailing odd byte is ignored). */
export function pcm16Samples(buf: Uint8Array): number {
  return buf.length >> 1;
}

/** Reads sample `i` (signed int16) from a little-endian PCM16 byte buffer. */
export function readPcm16(buf: Uint8Array, i: number): number {
  const j = i << 1;
  // `<< 16 >> 16` sign-extends the 16-bit value into a JS int32.
  return (((buf[j] as number) | ((buf[j + 1] as number) << 8)) << 16) >> 16;
}

/** Writes `value` (rounded, clamped to int16) as sample `i` of a PCM16 byte buffer. */
export function writePcm16(buf: Uint8Array, i: number, value: number): void {
  let v = Math.round(value);
  if (v > 32767) v = 32767;
  else if (v < -32768) v = -32768;
  const j = i << 1;
  buf[j] = v & 0xff;
  buf[j + 1] = (v >> 8) & 0xff;
}

/** PCM16 bytes to floats in [-1, 1). Full scale is 32768 so -32768 maps to exactly -1. */
export function pcm16ToFloat32(buf: Uint8Array): Float32Array {
  const n = buf.length >> 1;
  const out = new Float32Array(n);
  for (let i = 0, j = 0; i < n; i++, j += 2) {
    const s = (((buf[j] as number) | ((buf[j + 1] as number) << 8)) << 16) >> 16;
    out[i] = s / 32768;
  }
  return out;
}

/** Floats to PCM16 bytes. Values outside [-1, 1] are clamped rather than wrapped, so overload clips instead of crackling. */
export function float32ToPcm16(f: Float32Array): Uint8Array {
  const out = new Uint8Array(f.length * 2);
  for (let i = 0, j = 0; i < f.length; i++, j += 2) {
    let v = Math.round((f[i] as number) * 32768);
    if (v > 32767) v = 32767;
    else if (v < -32768) v = -32768;
    else if (v !== v) v = 0; // NaN fails both comparisons above; make it silence.
    out[j] = v & 0xff;
    out[j + 1] = (v >> 8) & 0xff;
  }
  return out;
}

/** Milliseconds to a whole number of samples at `rate` (rounded to nearest). */
export function msToSamples(ms: number, rate: number): number {
  return Math.round((ms * rate) / 1000);
}

/** Sample count to milliseconds at `rate` (not rounded). */
export function samplesToMs(n: number, rate: number): number {
  return (n * 1000) / rate;
}

/** Duration in milliseconds of `bytes` bytes of PCM16 mono at `rate`. */
export function pcm16DurationMs(bytes: number, rate: number): number {
  return samplesToMs(Math.floor(bytes / 2), rate);
}

/**
 * RMS level in dBFS, where 0 dBFS is a full-scale square wave (so a full-scale
 * sine reads about -3.01 dBFS). Empty or all-zero input returns -Infinity.
 */
export function rmsDbfs(pcm16: Uint8Array): number {
  const n = pcm16.length >> 1;
  if (n === 0) return -Infinity;
  let sum = 0;
  for (let i = 0, j = 0; i < n; i++, j += 2) {
    const s = (((pcm16[j] as number) | ((pcm16[j + 1] as number) << 8)) << 16) >> 16;
    sum += s * s;
  }
  if (sum === 0) return -Infinity;
  return 10 * Math.log10(sum / n / (32768 * 32768));
}

/** Concatenates byte chunks into one new buffer (always a copy, even for a single chunk). */
export function concatBytes(chunks: Uint8Array[]): Uint8Array {
  let total = 0;
  for (const c of chunks) total += c.length;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}
