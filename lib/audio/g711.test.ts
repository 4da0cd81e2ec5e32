// Tests for G.711: reference codewords (cross-checked against Python's audioop,
// which implements the same ITU-T tables), round-trip error bounds over every
// int16 value, companding SNR across levels, and the 24 kHz <-> 8 kHz bridges.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { alawToPcm16, G711Decoder, G711Encoder, pcm16ToAlaw, pcm16ToUlaw, ulawToPcm16, type G711Law } from './g711.ts';
import { concatBytes, readPcm16, writePcm16 } from './pcm.ts';
import { fitSine, randomChunks, ratioDb, seededRandom, sinePcm16, unaligned } from './test-signals.ts';

function pcm(values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  values.forEach((v, i) => writePcm16(out, i, v));
  return out;
}

function samples(bytes: Uint8Array): number[] {
  return Array.from({ length: bytes.length >> 1 }, (_, i) => readPcm16(bytes, i));
}

// [linear input, μ-law code, A-law code], generated with audioop.lin2ulaw / lin2alaw.
const ENCODE_REFERENCE: Array<[number, number, number]> = [
  [0, 0xff, 0xd5], [1, 0xff, 0xd5], [-1, 0x7e, 0x55], [8, 0xfe, 0xd5], [-8, 0x7e, 0x55],
  [100, 0xf2, 0xd3], [-100, 0x72, 0x53], [1000, 0xce, 0xfa], [-1000, 0x4e, 0x7a],
  [4000, 0xaf, 0x9a], [-4000, 0x2f, 0x1a], [12345, 0x97, 0xbd], [-12345, 0x17, 0x3d],
  [32767, 0x80, 0xaa], [-32768, 0x00, 0x2a],
];
// [code, linear output], generated with audioop.ulaw2lin / alaw2lin.
const ULAW_DECODE_REFERENCE: Array<[number, number]> = [[0xff, 0], [0x7f, 0], [0x80, 32124], [0x00, -32124], [0xfe, 8], [0x7e, -8], [0x8f, 16764], [0x9a, 10876]];
const ALAW_DECODE_REFERENCE: Array<[number, number]> = [[0xd5, 8], [0x55, -8], [0xaa, 32256], [0x2a, -32256], [0x80, 5504], [0x00, -5504], [0xd4, 24], [0x9a, 4032]];

test('silence encodes to the standard idle codes: μ-law 0xFF, A-law 0xD5', () => {
  assert.deepEqual([...pcm16ToUlaw(pcm([0, 0]))], [0xff, 0xff]);
  assert.deepEqual([...pcm16ToAlaw(pcm([0, 0]))], [0xd5, 0xd5]);
});

test('encoders match the reference codewords', () => {
  const input = pcm(ENCODE_REFERENCE.map(([x]) => x));
  assert.deepEqual([...pcm16ToUlaw(input)], ENCODE_REFERENCE.map(([, u]) => u));
  assert.deepEqual([...pcm16ToAlaw(unaligned(input))], ENCODE_REFERENCE.map(([, , a]) => a));
});

test('decoders match the reference values', () => {
  assert.deepEqual(samples(ulawToPcm16(new Uint8Array(ULAW_DECODE_REFERENCE.map(([c]) => c)))), ULAW_DECODE_REFERENCE.map(([, v]) => v));
  assert.deepEqual(samples(alawToPcm16(new Uint8Array(ALAW_DECODE_REFERENCE.map(([c]) => c)))), ALAW_DECODE_REFERENCE.map(([, v]) => v));
});

const LAWS: Array<[G711Law, (p: Uint8Array) => Uint8Array, (c: Uint8Array) => Uint8Array]> = [
  ['ulaw', pcm16ToUlaw, ulawToPcm16],
  ['alaw', pcm16ToAlaw, alawToPcm16],
];

for (const [law, encode, decode] of LAWS) {
  test(`${law}: every int16 round-trips within |x|/32 + 8 (log quantiser, ~5 bits of mantissa)`, () => {
    const all = new Uint8Array(65536 * 2);
    for (let i = 0; i < 65536; i++) writePcm16(all, i, i - 32768);
    const back = decode(encode(all));
    for (let i = 0; i < 65536; i++) {
      const x = i - 32768;
      const y = readPcm16(back, i);
      const error = Math.abs(y - x);
      assert.ok(error <= Math.abs(x) / 32 + 8, `${law} x=${x} error=${error}`);
      // The quantiser must be monotonic: a louder input never decodes quieter.
      if (i > 0) assert.ok(y >= readPcm16(back, i - 1), `${law} not monotonic at x=${x}`);
    }
  });

  test(`${law}: every code re-encodes to itself`, () => {
    const codes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const again = encode(decode(codes));
    // μ-law has two zeros (0x7F is "negative zero"); the encoder only emits 0xFF for 0.
    for (let c = 0; c < 256; c++) assert.equal(again[c], law === 'ulaw' && c === 0x7f ? 0xff : c, `code 0x${c.toString(16)}`);
  });

  test(`${law}: SNR stays above 30 dB from 0 to -40 dBFS (what companding is for)`, () => {
    for (const dbfs of [0, -10, -20, -30, -40]) {
      const tone = sinePcm16(1013, 8000, 8000, 32767 * 10 ** (dbfs / 20), 0.3);
      const sinad = -fitSine(decode(encode(tone)), 1013, 8000).residualDb;
      assert.ok(sinad > 30, `${law} at ${dbfs} dBFS: SINAD ${sinad.toFixed(1)} dB`);
    }
  });

  test(`${law}: 24 kHz bridge streams exactly and keeps a 1 kHz tone`, () => {
    const random = seededRandom(law === 'ulaw' ? 1 : 2);
    const input = sinePcm16(1000, 24000, 24000 * 2 + 7, 12000);
    const encoder = new G711Encoder(law);
    const wire = concatBytes([...randomChunks(input, random, 2000).map((c) => encoder.encode(c)), encoder.flush()]);
    assert.equal(wire.length, Math.round((24000 * 2 + 7) / 3));
    // Streaming must not change a single codeword relative to encoding in one go.
    const oneShot = new G711Encoder(law);
    assert.deepEqual(concatBytes([oneShot.encode(input), oneShot.flush()]), wire);

    const decoder = new G711Decoder(law);
    const back = concatBytes([...randomChunks(wire, random, 500).map((c) => decoder.decode(c)), decoder.flush()]);
    assert.equal(back.length / 2, wire.length * 3);
    const fit = fitSine(back, 1000, 24000, 500, (back.length >> 1) - 500);
    assert.ok(Math.abs(ratioDb(fit.amplitude, 12000)) < 0.5, `gain ${ratioDb(fit.amplitude, 12000)} dB`);
    assert.ok(Math.abs(fit.phase) < 0.01, `phase ${fit.phase}`);
    assert.ok(fit.residualDb < -30, `residual ${fit.residualDb.toFixed(1)} dB`);
  });

  test(`${law}: encoder band-limits to telephony (a 6 kHz tone does not alias to 2 kHz)`, () => {
    const encoder = new G711Encoder(law);
    const wire = concatBytes([encoder.encode(sinePcm16(6000, 24000, 24000, 16384)), encoder.flush()]);
    const decoded = decode(wire);
    const alias = fitSine(decoded, 2000, 8000, 200, (decoded.length >> 1) - 200).amplitude;
    assert.ok(ratioDb(alias, 16384) < -40, `alias at ${ratioDb(alias, 16384).toFixed(1)} dB`);
  });
}

test('G711Encoder/Decoder reject an unknown law', () => {
  assert.throws(() => new G711Encoder('mulaw' as G711Law), /ulaw/);
  assert.throws(() => new G711Decoder('pcma' as G711Law), /alaw/);
});
