// Tests for the PCM16 helpers: exact int16 <-> float mapping, clamping,
// unaligned buffers, timing conversions and the dBFS meter.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  concatBytes,
  float32ToPcm16,
  pcm16DurationMs,
  pcm16Samples,
  pcm16ToFloat32,
  readPcm16,
  rmsDbfs,
  samplesToMs,
  msToSamples,
  writePcm16,
} from './pcm.ts';
import { sinePcm16, unaligned } from './test-signals.ts';

function allInt16(): Uint8Array {
  const out = new Uint8Array(65536 * 2);
  for (let i = 0; i < 65536; i++) writePcm16(out, i, i - 32768);
  return out;
}

test('pcm16ToFloat32 reads little-endian int16 and maps full scale to [-1, 1)', () => {
  const bytes = new Uint8Array([0x00, 0x80, 0xff, 0x7f, 0x00, 0x00, 0xff, 0xff, 0x01, 0x00]);
  assert.deepEqual([...pcm16ToFloat32(bytes)], [-1, 32767 / 32768, 0, -1 / 32768, 1 / 32768]);
});

test('pcm16ToFloat32 handles buffers at an odd byteOffset (pooled Node Buffers)', () => {
  const pool = Buffer.alloc(64);
  const slice = pool.subarray(7, 7 + 6);
  slice.set([0x34, 0x12, 0xcc, 0xed, 0x00, 0x80]);
  assert.equal(slice.byteOffset % 2, 1);
  assert.deepEqual([...pcm16ToFloat32(slice)].map((x) => x * 32768), [0x1234, -0x1234, -32768]);
  assert.equal(readPcm16(slice, 1), -0x1234);
});

test('every int16 value survives float32 and back bit-exactly', () => {
  const bytes = allInt16();
  assert.deepEqual(float32ToPcm16(pcm16ToFloat32(bytes)), bytes);
  assert.deepEqual(float32ToPcm16(pcm16ToFloat32(unaligned(bytes))), bytes);
});

test('float32ToPcm16 clamps out-of-range values and silences NaN', () => {
  const out = float32ToPcm16(new Float32Array([1.5, -2, 1, -1, NaN, 0.5]));
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((i) => readPcm16(out, i)), [32767, -32768, 32767, -32768, 0, 16384]);
});

test('sample counts and durations', () => {
  assert.equal(pcm16Samples(new Uint8Array(9)), 4);
  assert.equal(msToSamples(20, 24000), 480);
  assert.equal(msToSamples(10, 22050), 221); // 220.5 rounds up
  assert.equal(samplesToMs(480, 24000), 20);
  assert.equal(pcm16DurationMs(960, 24000), 20);
  assert.equal(pcm16DurationMs(961, 24000), 20);
  assert.equal(pcm16DurationMs(320, 16000), 10);
});

test('rmsDbfs: full-scale square is 0 dBFS, full-scale sine about -3.01, silence -Infinity', () => {
  const square = new Uint8Array(4800 * 2);
  for (let i = 0; i < 4800; i++) writePcm16(square, i, i % 48 < 24 ? 32767 : -32768);
  assert.ok(Math.abs(rmsDbfs(square)) < 0.001);
  const sine = sinePcm16(1000, 24000, 24000, 32767);
  assert.ok(Math.abs(rmsDbfs(sine) - -3.0103) < 0.01, `sine: ${rmsDbfs(sine)}`);
  const quiet = sinePcm16(1000, 24000, 24000, 32767 / 100);
  // At 1% of full scale the int16 rounding is audible in the meter (~0.01 dB), hence the looser bound.
  assert.ok(Math.abs(rmsDbfs(unaligned(quiet)) - -43.0103) < 0.05);
  assert.equal(rmsDbfs(new Uint8Array(100)), -Infinity);
  assert.equal(rmsDbfs(new Uint8Array(0)), -Infinity);
});

test('concatBytes joins in order and always copies', () => {
  const a = new Uint8Array([1, 2]);
  const joined = concatBytes([a, new Uint8Array(0), new Uint8Array([3])]);
  assert.deepEqual([...joined], [1, 2, 3]);
  const single = concatBytes([a]);
  single[0] = 9;
  assert.equal(a[0], 1);
  assert.equal(concatBytes([]).length, 0);
});
