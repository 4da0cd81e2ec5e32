// ITU-T G.711 μ-law and A-law companding (8 kHz telephony), plus the stateful
// bridges between our 24 kHz PCM16 bus and 8 kHz G.711 byte streams.
// The per-sample math follows the classic Sun Microsystems reference (the one
// behind Python's audioop and SoX): μ-law quantises the top 14 bits, A-law the
// top 13, and decoders reconstruct at the middle of each quantisation step.
// All four directions run through lookup tables built once at module load.

import { Resampler } from './resample.ts';

export type G711Law = 'ulaw' | 'alaw';

const BUS_RATE = 24000;
const G711_RATE = 8000;

const ULAW_BIAS = 0x84;
const ULAW_CLIP = 8159; // in 14-bit units; keeps biased magnitude inside segment 7
const ULAW_SEG_END = [0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff, 0x1fff];
const ALAW_SEG_END = [0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff];

function segmentOf(value: number, ends: number[]): number {
  for (let i = 0; i < ends.length; i++) if (value <= (ends[i] as number)) return i;
  return ends.length;
}

function encodeUlawSample(pcm: number): number {
  let v = pcm >> 2;
  let mask = 0xff;
  if (v < 0) {
    v = -v;
    mask = 0x7f;
  }
  if (v > ULAW_CLIP) v = ULAW_CLIP;
  v += ULAW_BIAS >> 2;
  const seg = segmentOf(v, ULAW_SEG_END);
  if (seg >= 8) return 0x7f ^ mask;
  return ((seg << 4) | ((v >> (seg + 1)) & 0x0f)) ^ mask;
}

function decodeUlawSample(code: number): number {
  const u = ~code & 0xff;
  const t = (((u & 0x0f) << 3) + ULAW_BIAS) << ((u & 0x70) >> 4);
  return u & 0x80 ? ULAW_BIAS - t : t - ULAW_BIAS;
}

function encodeAlawSample(pcm: number): number {
  let v = pcm >> 3;
  let mask = 0xd5;
  if (v < 0) {
    v = -v - 1;
    mask = 0x55;
  }
  const seg = segmentOf(v, ALAW_SEG_END);
  if (seg >= 8) return 0x7f ^ mask;
  const quant = seg < 2 ? (v >> 1) & 0x0f : (v >> seg) & 0x0f;
  return ((seg << 4) | quant) ^ mask;
}

function decodeAlawSample(code: number): number {
  const a = code ^ 0x55;
  let t = (a & 0x0f) << 4;
  const seg = (a & 0x70) >> 4;
  if (seg === 0) t += 8;
  else t = (t + 0x108) << (seg - 1);
  return a & 0x80 ? t : -t;
}

// Encoders index by the bits each law actually keeps (14 for μ, 13 for A),
// offset so that the most negative input lands at index 0.
const ULAW_ENCODE = new Uint8Array(1 << 14);
const ALAW_ENCODE = new Uint8Array(1 << 13);
const ULAW_DECODE = new Int16Array(256);
const ALAW_DECODE = new Int16Array(256);
for (let i = 0; i < 1 << 14; i++) ULAW_ENCODE[i] = encodeUlawSample((i - (1 << 13)) << 2);
for (let i = 0; i < 1 << 13; i++) ALAW_ENCODE[i] = encodeAlawSample((i - (1 << 12)) << 3);
for (let c = 0; c < 256; c++) {
  ULAW_DECODE[c] = decodeUlawSample(c);
  ALAW_DECODE[c] = decodeAlawSample(c);
}

function encodeWith(pcm16: Uint8Array, table: Uint8Array, shift: number, offset: number): Uint8Array {
  const n = pcm16.length >> 1;
  const out = new Uint8Array(n);
  for (let i = 0, j = 0; i < n; i++, j += 2) {
    const s = (((pcm16[j] as number) | ((pcm16[j + 1] as number) << 8)) << 16) >> 16;
    out[i] = table[(s >> shift) + offset] as number;
  }
  return out;
}

function decodeWith(codes: Uint8Array, table: Int16Array): Uint8Array {
  const out = new Uint8Array(codes.length * 2);
  for (let i = 0, j = 0; i < codes.length; i++, j += 2) {
    const s = table[codes[i] as number] as number;
    out[j] = s & 0xff;
    out[j + 1] = (s >> 8) & 0xff;
  }
  return out;
}

/** PCM16 (any rate; G.711 proper is 8 kHz) to μ-law bytes, one per sample. μ-law of 0 is 0xFF. */
export function pcm16ToUlaw(pcm16: Uint8Array): Uint8Array {
  return encodeWith(pcm16, ULAW_ENCODE, 2, 1 << 13);
}

/** μ-law bytes to PCM16. */
export function ulawToPcm16(ulaw: Uint8Array): Uint8Array {
  return decodeWith(ulaw, ULAW_DECODE);
}

/** PCM16 to A-law bytes, one per sample. A-law of 0 is 0xD5 (even bits inverted per G.711). */
export function pcm16ToAlaw(pcm16: Uint8Array): Uint8Array {
  return encodeWith(pcm16, ALAW_ENCODE, 3, 1 << 12);
}

/** A-law bytes to PCM16. */
export function alawToPcm16(alaw: Uint8Array): Uint8Array {
  return decodeWith(alaw, ALAW_DECODE);
}

function checkLaw(law: G711Law): G711Law {
  // Config arrives as untyped strings; a typo must not silently pick A-law.
  if (law !== 'ulaw' && law !== 'alaw') throw new RangeError(`G.711 law must be 'ulaw' or 'alaw', got ${String(law)}`);
  return law;
}

/** Streams 24 kHz PCM16 from the bus out as 8 kHz G.711 (band-limited to 3.4 kHz first). */
export class G711Encoder {
  readonly law: G711Law;
  private readonly resampler = new Resampler(BUS_RATE, G711_RATE);

  constructor(law: G711Law) {
    this.law = checkLaw(law);
  }

  encode(pcm16at24k: Uint8Array): Uint8Array {
    return this.compand(this.resampler.push(pcm16at24k));
  }

  /** Emits the resampler tail; the encoder is then ready for a new stream. */
  flush(): Uint8Array {
    return this.compand(this.resampler.flush());
  }

  private compand(pcm16at8k: Uint8Array): Uint8Array {
    return this.law === 'ulaw' ? pcm16ToUlaw(pcm16at8k) : pcm16ToAlaw(pcm16at8k);
  }
}

/** Streams 8 kHz G.711 bytes in as 24 kHz PCM16 for the bus. */
export class G711Decoder {
  readonly law: G711Law;
  private readonly resampler = new Resampler(G711_RATE, BUS_RATE);

  constructor(law: G711Law) {
    this.law = checkLaw(law);
  }

  decode(g711: Uint8Array): Uint8Array {
    const pcm16at8k = this.law === 'ulaw' ? ulawToPcm16(g711) : alawToPcm16(g711);
    return this.resampler.push(pcm16at8k);
  }

  /** Emits the resampler tail (PCM16 at 24 kHz); the decoder is then ready for a new stream. */
  flush(): Uint8Array {
    return this.resampler.flush();
  }
}
