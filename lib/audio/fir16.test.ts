// The WebAssembly SIMD FIR: the committed module is what fir16.wat compiles to, and the VAD's float
// path gives bit-identical output with and without it, under any chunking (odd byte splits, silence,
// overload, large appends that grow the module's memory).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileFir16, fir16Module } from './build-fir16.ts';
import { FIR16_WASM } from './fir16-wasm.ts';
import { simdFir16 } from './fir16.ts';
import { Resampler } from './resample.ts';

test('fir16-wasm.ts is the compiled fir16.wat (run lib/audio/build-fir16.ts after editing it)', async () => {
  const binary = await compileFir16();
  assert.equal(Buffer.from(FIR16_WASM, 'base64').equals(Buffer.from(binary)), true);
  assert.match(fir16Module(binary), new RegExp(FIR16_WASM.replace(/[+/]/g, '\\$&')));
  assert.ok(simdFir16(), 'this Node runs WebAssembly SIMD');
});

/** Deterministic speech-like PCM16: harmonics, noise, stretches of digital silence and clipping. */
function signal(samples: number, seed: number): Uint8Array {
  const out = new Uint8Array(samples * 2);
  let s = seed;
  for (let i = 0; i < samples; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    const region = Math.floor(i / 4_000) % 4;
    let v = region === 1 ? 0 : Math.round(9000 * Math.sin(i / 7.3) + 4000 * Math.sin(i / 1.9) + ((s / 2 ** 32) - 0.5) * 3000);
    if (region === 3) v *= 8; // overload: the int16 clamp below
    v = Math.max(-32768, Math.min(32767, v));
    out[2 * i] = v & 0xff;
    out[2 * i + 1] = (v >> 8) & 0xff;
  }
  return out;
}

function floats(to: number, simd: boolean, input: Uint8Array, chunks: number[]): Float32Array {
  const r = new Resampler(24_000, to, { quality: 'analysis', simd });
  const out = new Float32Array(r.maxOutputFor(input.length) + 64);
  let written = 0;
  let at = 0;
  for (let k = 0; at < input.length; k++) {
    const chunk = input.subarray(at, at + chunks[k % chunks.length]!);
    written += r.pushFloat32Into(chunk, out, written);
    at += chunk.length;
  }
  return out.subarray(0, written);
}

test('SIMD and JS give the same floats, bit for bit, under any chunking', () => {
  const input = signal(24_000 * 3, 7);
  for (const to of [16_000]) {
    for (const chunks of [[1920], [960, 1921, 3, 4799], [1, 2, 5, 7, 1000], [144_000]]) {
      const js = floats(to, false, input, chunks);
      const wasm = floats(to, true, input, chunks);
      assert.equal(wasm.length, js.length, `${to} Hz, chunks ${chunks.join(',')}`);
      assert.deepEqual(Buffer.from(wasm.buffer, wasm.byteOffset, wasm.byteLength), Buffer.from(js.buffer, js.byteOffset, js.byteLength), `${to} Hz, chunks ${chunks.join(',')}`);
      assert.ok(wasm.some((v) => v !== 0), 'not all silence');
    }
  }
});
