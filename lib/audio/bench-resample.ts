// Throughput bench for the 24k->16k hot path (VAD/STT feed). Not a test: run with
//   node --import tsx lib/audio/bench-resample.ts
// Streams 60 s of speech-like signal in 20 ms chunks (the gateway's frame size)
// through one Resampler per run and reports x-realtime on one core, median of 5.
// Then the VAD's own path: 'analysis' quality into floats (pushFloat32Into), to 16 and 8 kHz.

import { Resampler, type ResampleQuality } from './resample.ts';

const FROM = 24000;
const TO = 16000;
const SECONDS = 60;
const CHUNK_MS = 20;
const RUNS = 5;

function makeSignal(): Uint8Array {
  // A few harmonics plus deterministic noise: the content does not change the
  // arithmetic cost, but it keeps the optimiser from seeing constant input.
  const n = FROM * SECONDS;
  const out = new Uint8Array(n * 2);
  let seed = 12345;
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    const noise = (seed / 2 ** 32 - 0.5) * 2000;
    const v = Math.round(6000 * Math.sin((2 * Math.PI * 180 * i) / FROM) + 3000 * Math.sin((2 * Math.PI * 1250 * i) / FROM) + noise);
    out[2 * i] = v & 0xff;
    out[2 * i + 1] = (v >> 8) & 0xff;
  }
  return out;
}

function runOnce(signal: Uint8Array, quality: ResampleQuality): number {
  const chunkBytes = ((FROM * CHUNK_MS) / 1000) * 2;
  const r = new Resampler(FROM, TO, { quality });
  const t0 = process.hrtime.bigint();
  let produced = 0;
  for (let off = 0; off < signal.length; off += chunkBytes) produced += r.push(signal.subarray(off, off + chunkBytes)).length;
  produced += r.flush().length;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (produced !== SECONDS * TO * 2) throw new Error(`unexpected output length ${produced}`);
  return SECONDS / seconds;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

/** The VAD path: floats at the model's rate into one reused buffer, in 40 ms bus frames. */
function runVadOnce(signal: Uint8Array, to: number, simd = true): number {
  const chunkBytes = ((FROM * 40) / 1000) * 2;
  const r = new Resampler(FROM, to, { quality: 'analysis', simd });
  const out = new Float32Array(4096);
  const t0 = process.hrtime.bigint();
  for (let off = 0; off < signal.length; off += chunkBytes) r.pushFloat32Into(signal.subarray(off, off + chunkBytes), out, 0);
  return SECONDS / (Number(process.hrtime.bigint() - t0) / 1e9);
}

const signal = makeSignal();
for (const quality of ['good', 'fast'] as const) {
  runOnce(signal, quality); // warm-up so the JIT has optimised the inner loop
  const runs = Array.from({ length: RUNS }, () => runOnce(signal, quality));
  console.log(
    `resample ${FROM}->${TO} quality=${quality}: median ${median(runs).toFixed(0)}x realtime ` +
      `(runs: ${runs.map((x) => x.toFixed(0)).join(', ')}; ${CHUNK_MS} ms chunks, one core)`,
  );
}
// 16 kHz twice: the 16-tap FIR in WebAssembly SIMD (the default) and in JS (the baseline), interleaved.
const vadPaths = [
  { to: 16_000, simd: true, label: 'SIMD' },
  { to: 16_000, simd: false, label: 'JS' },
  { to: 8_000, simd: true, label: 'JS, 28 taps' },
];
for (const p of vadPaths) runVadOnce(signal, p.to, p.simd);
const vadRuns = vadPaths.map(() => [] as number[]);
for (let i = 0; i < RUNS; i++) vadPaths.forEach((p, k) => vadRuns[k]!.push(runVadOnce(signal, p.to, p.simd)));
vadPaths.forEach((p, k) => {
  const runs = vadRuns[k]!;
  console.log(`VAD path ${FROM}->${p.to} quality=analysis, floats (${p.label}): median ${median(runs).toFixed(0)}x realtime (runs: ${runs.map((x) => x.toFixed(0)).join(', ')}; 40 ms frames, one core)`);
});
const ratio = median(vadRuns[0]!) / median(vadRuns[1]!);
console.log(`SIMD vs JS on the VAD's 16 kHz path: ${ratio.toFixed(2)}x`);
