// Tests for the streaming resampler: pass/stop band measured on real tones,
// timing alignment against the ideal signal, exact output counts, and
// byte-identical output under arbitrary chunking (the property the gateway
// relies on when frames arrive in whatever sizes the network delivers).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Resampler, resamplePcm16, type ResampleQuality } from './resample.ts';
import { polyphaseFilterFor } from './polyphase-filter.ts';
import { concatBytes, readPcm16, rmsDbfs } from './pcm.ts';
import { fitSine, randomChunks, ratioDb, seededRandom, sinePcm16, unaligned } from './test-signals.ts';

const PAIRS: Array<[number, number]> = [
  [24000, 16000],
  [22050, 24000],
  [16000, 24000],
  [8000, 24000],
  [24000, 8000],
];
const QUALITIES: ResampleQuality[] = ['good', 'fast'];
const EDGE = 300; // output samples to skip at each end, beyond the filter's start-up/tail

function noisePcm16(samples: number, seed: number): Uint8Array {
  const random = seededRandom(seed);
  const out = new Uint8Array(samples * 2);
  for (let i = 0; i < out.length; i++) out[i] = Math.floor(random() * 256);
  return out;
}

/**
 * Asserts each of the first `n` outputs is the polyphase convolution it stands for, computed
 * directly on `input` with the resampler's leading zeros (output 0 is centred on input 0).
 */
function assertConvolution(f: ReturnType<typeof polyphaseFilterFor>, input: Uint8Array, out: Float32Array, n: number, label: string): void {
  const x = new Float64Array(f.halfWidth - 1 + input.length / 2);
  for (let i = 0; i < input.length / 2; i++) x[f.halfWidth - 1 + i] = readPcm16(input, i);
  for (let j = 0; j < n; j++) {
    const phase = (j * f.down) % f.up;
    const start = Math.floor((j * f.down) / f.up);
    let sum = 0;
    for (let k = 0; k < f.taps; k++) sum += f.coeffs[phase * f.taps + k]! * x[start + k]!;
    assert.ok(Math.abs(out[j]! - sum / 32768) <= 1e-6, `${label}output ${j}: ${out[j]} vs ${sum / 32768}`);
  }
}

test('identity returns the input unchanged', () => {
  const input = noisePcm16(1000, 1);
  const r = new Resampler(24000, 24000);
  assert.equal(r.push(input), input);
  assert.equal(r.flush().length, 0);
  assert.equal(resamplePcm16(input, 16000, 16000), input);
});

test('rejects non-integer or non-positive rates', () => {
  assert.throws(() => new Resampler(0, 16000), RangeError);
  assert.throws(() => new Resampler(24000, 16000.5), RangeError);
});

for (const quality of QUALITIES) {
  for (const [from, to] of PAIRS) {
    test(`${from}->${to} (${quality}): 1 kHz passes flat, in phase, without images or aliases`, () => {
      const out = resamplePcm16(sinePcm16(1000, from, from, 16384), from, to, { quality });
      const n = out.length >> 1;
      const fit = fitSine(out, 1000, to, EDGE, n - EDGE);
      assert.ok(Math.abs(ratioDb(fit.amplitude, 16384)) < 0.5, `gain ${ratioDb(fit.amplitude, 16384)} dB`);
      // A zero phase means output sample n sits exactly at time n/to: no delay, no offset.
      assert.ok(Math.abs(fit.phase) < 1e-3, `phase ${fit.phase} rad`);
      const floor = quality === 'good' ? -80 : -70;
      assert.ok(fit.residualDb < floor, `everything but the tone is at ${fit.residualDb.toFixed(1)} dB, want < ${floor}`);
    });
  }
}

for (const quality of QUALITIES) {
  test(`24000->16000 (${quality}): tones above 8 kHz are removed, not aliased`, () => {
    const want = quality === 'good' ? 75 : 55;
    for (const freq of [8500, 9000, 10000, 11000, 11900]) {
      const input = sinePcm16(freq, 24000, 24000, 29490);
      const out = resamplePcm16(input, 24000, 16000, { quality });
      const attenuation = rmsDbfs(input) - rmsDbfs(out.subarray(EDGE * 2, out.length - EDGE * 2));
      assert.ok(attenuation >= 40, `${freq} Hz only ${attenuation.toFixed(1)} dB down`);
      assert.ok(attenuation >= want, `${freq} Hz only ${attenuation.toFixed(1)} dB down, want ${want}`);
    }
  });

  test(`24000->8000 (${quality}): content above 4 kHz is removed before telephony`, () => {
    for (const freq of [4500, 6000, 9000]) {
      const input = sinePcm16(freq, 24000, 24000, 29490);
      const out = resamplePcm16(input, 24000, 8000, { quality });
      const attenuation = rmsDbfs(input) - rmsDbfs(out.subarray(EDGE * 2, out.length - EDGE * 2));
      assert.ok(attenuation >= 55, `${freq} Hz only ${attenuation.toFixed(1)} dB down`);
    }
  });
}

test('a constant input stays constant (every polyphase branch has unity DC gain)', () => {
  for (const [from, to] of PAIRS) {
    const input = new Uint8Array(from * 2);
    for (let i = 0; i < from; i++) [input[2 * i], input[2 * i + 1]] = [0x10, 0x27]; // 10000
    const out = resamplePcm16(input, from, to);
    for (let i = EDGE; i < (out.length >> 1) - EDGE; i++) assert.ok(Math.abs(readPcm16(out, i) - 10000) <= 1, `${from}->${to} sample ${i}`);
  }
});

test('total output after flush is round(inputSamples * to / from)', () => {
  const random = seededRandom(7);
  const lengths = [0, 1, 2, 3, 146, 147, 160, 441, 1000, 22049];
  for (let i = 0; i < 20; i++) lengths.push(Math.floor(random() * 50000));
  for (const [from, to] of PAIRS) {
    for (const quality of QUALITIES) {
      for (const samples of lengths) {
        const r = new Resampler(from, to, { quality });
        const produced = (r.push(noisePcm16(samples, samples)).length + r.flush().length) / 2;
        const ideal = (samples * to) / from;
        assert.equal(produced, Math.round(ideal), `${from}->${to} ${quality} N=${samples}`);
        assert.ok(Math.abs(produced - ideal) <= 1);
      }
    }
  }
});

test('streaming output equals one-shot output byte for byte under random chunkings', () => {
  const random = seededRandom(42);
  for (const [from, to] of PAIRS) {
    for (const quality of QUALITIES) {
      const input = noisePcm16(Math.floor(from * 0.7) + 13, from + to);
      const oneShot = resamplePcm16(input, from, to, { quality });
      const r = new Resampler(from, to, { quality });
      for (const maxChunk of [1, 3, 64, 961, 20000]) {
        // Odd-length chunks split samples across pushes; views may start at odd byte offsets.
        const pieces = randomChunks(input, random, maxChunk).map((c) => r.push(random() < 0.5 ? unaligned(c) : c));
        pieces.push(r.flush()); // flush also resets, so the same instance serves the next round
        assert.deepEqual(concatBytes(pieces), oneShot, `${from}->${to} ${quality} maxChunk=${maxChunk}`);
      }
    }
  }
});

test('a long stream in 20 ms frames does not drift (22050->24000, 5 minutes)', () => {
  const from = 22050;
  const to = 24000;
  const seconds = 300;
  const r = new Resampler(from, to);
  const frame = (from / 50) * 2 + 1; // 441 samples + 1 byte: keeps the odd-byte carry busy too
  const out: Uint8Array[] = [];
  const block = sinePcm16(1000, from, from * seconds, 16384);
  for (let off = 0; off < block.length; off += frame) out.push(r.push(block.subarray(off, off + frame)));
  out.push(r.flush());
  const all = concatBytes(out);
  const n = all.length >> 1;
  assert.equal(n, to * seconds);
  // The last second must still line up with the ideal 1 kHz sine at the output rate.
  const fit = fitSine(all, 1000, to, n - to, n - EDGE);
  assert.ok(Math.abs(fit.phase) < 1e-3, `phase after ${seconds} s: ${fit.phase} rad`);
  assert.ok(Math.abs(ratioDb(fit.amplitude, 16384)) < 0.01);
});

test('reset() mid-stream discards buffered input', () => {
  const a = noisePcm16(5000, 1);
  const b = noisePcm16(5000, 2);
  const r = new Resampler(24000, 16000);
  r.push(a);
  r.reset();
  assert.deepEqual(concatBytes([r.push(b), r.flush()]), resamplePcm16(b, 24000, 16000));
});

test('pushFloat32Into: same floats under any chunking, within maxOutputFor, matching push()', () => {
  const input = sinePcm16(440, 24000, 24000);
  const whole = new Resampler(24000, 16000, { quality: 'analysis' });
  const expected = new Float32Array(whole.maxOutputFor(input.length));
  const n = whole.pushFloat32Into(input, expected, 0);
  const bytes = new Resampler(24000, 16000, { quality: 'analysis' }).push(input);
  assert.equal(n, bytes.length / 2, 'as many samples as push() makes');
  for (let i = 0; i < n; i++) assert.ok(Math.abs(expected[i]! * 32768 - readPcm16(bytes, i)) <= 0.5 + 1e-3, `sample ${i} agrees with push() before rounding`);

  const chunked = new Resampler(24000, 16000, { quality: 'analysis' });
  const out = new Float32Array(n + 64);
  let written = 0;
  for (const chunk of randomChunks(input, seededRandom(7), 997)) {
    const bound = chunked.maxOutputFor(chunk.length);
    const got = chunked.pushFloat32Into(chunk, out, written);
    assert.ok(got <= bound, `${got} samples within the promised ${bound}`);
    written += got;
  }
  assert.equal(written, n);
  assert.deepEqual(out.subarray(0, n), expected.subarray(0, n));
  assert.throws(() => new Resampler(24000, 16000).pushFloat32Into(input, new Float32Array(10), 0), RangeError);
});

test("the 'analysis' filter's unrolled 16-tap path computes the polyphase convolution it stands for", () => {
  const f = polyphaseFilterFor(24000, 16000, 'analysis');
  assert.equal(f.taps, 16, 'the path under test is the one this filter takes');
  const input = noisePcm16(4800, 11);
  const out = new Float32Array(4096);
  const n = new Resampler(24000, 16000, { quality: 'analysis' }).pushFloat32Into(input, out, 0);
  assert.ok(n > 3000, `${n} outputs`);
  assertConvolution(f, input, out, n, '');
});

test('digital silence between noise bursts: every output is still the polyphase convolution, under any chunking', () => {
  for (const quality of ['analysis', 'good'] as const) {
    const f = polyphaseFilterFor(24000, 16000, quality);
    const zeros = (samples: number) => new Uint8Array(samples * 2);
    // Silence first (the resampler's own history is zeros too), between bursts, and last; one
    // silent stretch shorter than the filter, so windows straddle both kinds.
    const input = concatBytes([zeros(3000), noisePcm16(1500, 3), zeros(f.taps - 3), noisePcm16(700, 4), zeros(4000), noisePcm16(900, 5), zeros(2500)]);
    // Small chunks drain often, so some drains start right where a burst ends.
    for (const maxChunk of [1_500, 40]) {
      const r = new Resampler(24000, 16000, { quality });
      const out = new Float32Array(r.maxOutputFor(input.length) + 64);
      let n = 0;
      for (const chunk of randomChunks(input, seededRandom(13), maxChunk)) n += r.pushFloat32Into(chunk, out, n);
      assert.ok(n > 8_000, `${n} outputs`);
      assertConvolution(f, input, out, n, `${quality}, chunks up to ${maxChunk} bytes: `);
    }
  }
});
