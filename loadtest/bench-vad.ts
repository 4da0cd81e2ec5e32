// Bench for performance target 1 (issue 6): Silero VAD inference batched across sessions vs the
// per-session baseline (one ONNX run per session per 32 ms chunk), on the engine the VAD stage uses
// (stages/vad/silero-engine.ts, single-threaded ONNX). For each batch size B, B streams are fed
// frame by frame, both ways, interleaved in the same run; each figure is the median of --runs runs.
// Throughput is counted per CPU second of this process (robust on a shared machine), and also shown
// by the wall clock.
// Inputs: digital zeros and real speech (the loadtest's espeak-ng corpus, resampled to 16 kHz).
// Last, the same speech at 8 kHz (PARLEY_VAD_SAMPLE_RATE=8000) against 16 kHz, batched, interleaved.
import os from 'node:os';
import { readFile } from 'node:fs/promises';
import { benchArgs } from './bench-args.ts';
import { pcm16ToFloat32, resamplePcm16 } from '../lib/audio/index.ts';
import { createSileroEngine, type SileroRate, type VadEngine, type VadStreamState } from '../stages/vad/silero-engine.ts';
import { loadCorpus } from './corpus.ts';
import { quantileSorted } from './stats.ts';

const FRAMES_PER_STREAM_SECOND = 16_000 / 512; // 31.25 chunks/s make one realtime stream
const TARGET_RATIO = 3;
const TARGET_STREAMS_PER_CORE = 200;
const TARGET_BATCH = 128; // PARLEY_VAD_MAX_BATCH default

const { values } = benchArgs('Usage: node --import tsx loadtest/bench-vad.ts [--runs 5] [--batches 8,32,128,256] [--chunks 4096]', {
  options: { runs: { type: 'string', default: '5' }, batches: { type: 'string', default: '8,32,128,256' }, chunks: { type: 'string', default: '4096' } },
});
const runs = Number(values.runs);
const batches = values.batches.split(',').map(Number);
const chunksPerRun = Number(values.chunks);

/** 32 ms frames at `rate`: the corpus utterances back to back with 300 ms pauses. */
async function speechFrames(rate: SileroRate = 16_000): Promise<Float32Array[]> {
  const parts: Float32Array[] = [];
  for (const u of await loadCorpus()) {
    const pcm = resamplePcm16(await readFile(u.file), 24_000, rate);
    parts.push(pcm16ToFloat32(pcm), new Float32Array((rate * 300) / 1000));
  }
  const all = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) all.set(p, (at += p.length) - p.length);
  const n = (rate * 32) / 1000;
  return Array.from({ length: Math.floor(all.length / n) }, (_, i) => all.subarray(i * n, (i + 1) * n));
}

interface Measure {
  readonly chunksPerSec: number;
  readonly cpuChunksPerSec: number;
}

/** Feeds `streams` streams `rounds` frames each; per-session = one inferBatch per stream per frame. */
async function measure(engine: VadEngine, frames: Float32Array[], streams: number, rounds: number, batched: boolean): Promise<Measure> {
  const states: VadStreamState[] = Array.from({ length: streams }, () => engine.newState());
  const offset = (i: number) => (i * 7919) % frames.length; // streams at different places of the speech
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) {
    const items = states.map((state, i) => ({ state, frame: frames[(offset(i) + r) % frames.length]! }));
    if (batched) await engine.inferBatch(items);
    else for (const it of items) await engine.inferBatch([it]);
  }
  const wallS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const chunks = streams * rounds;
  return { chunksPerSec: chunks / wallS, cpuChunksPerSec: chunks / ((cpu.user + cpu.system) / 1e6) };
}

const median = (xs: number[]) => quantileSorted([...xs].sort((a, b) => a - b), 0.5);

const engine = await createSileroEngine({ maxBatch: Math.max(...batches) });
const inputs: Array<[string, Float32Array[]]> = [
  ['zeros', [new Float32Array(512)]],
  ['speech', await speechFrames()],
];
const out = process.stdout;
const load = () => os.loadavg()[0]!.toFixed(2);
out.write(`Silero VAD v5, onnxruntime-node, intraOpNumThreads 1 (one core per inference); machine: ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? '?'}, load average ${load()}\n`);
out.write(`median of ${runs} runs, ~${chunksPerRun} chunks per run; a realtime stream needs ${FRAMES_PER_STREAM_SECOND} chunks/s (512 samples at 16 kHz = 32 ms)\n`);
out.write(`per-session = one ONNX run per session per chunk (the baseline); batched = one run for all B sessions' chunks\n\n`);
const pad = (v: string, n: number) => v.padStart(n);
out.write(`${'input'.padEnd(8)}${'mode'.padEnd(13)}${pad('batch', 6)}${pad('chunks/s', 10)}${pad('streams/core', 14)}${pad('ratio', 8)}${pad('CPU us/chunk', 14)}${pad('wall streams', 14)}${pad('wall ratio', 12)}\n`);
for (const [name, frames] of inputs) {
  await measure(engine, frames, 32, 20, true); // warm-up
  await measure(engine, frames, 32, 20, false);
  for (const b of batches) {
    const rounds = Math.max(4, Math.ceil(chunksPerRun / b));
    const runsOf: Record<'per-session' | 'batched', Measure[]> = { 'per-session': [], batched: [] };
    for (let r = 0; r < runs; r++) {
      runsOf['per-session'].push(await measure(engine, frames, b, rounds, false));
      runsOf.batched.push(await measure(engine, frames, b, rounds, true));
    }
    const med = (mode: 'per-session' | 'batched') => ({ cpu: median(runsOf[mode].map((m) => m.cpuChunksPerSec)), wall: median(runsOf[mode].map((m) => m.chunksPerSec)) });
    const base = med('per-session');
    for (const mode of ['per-session', 'batched'] as const) {
      const m = med(mode);
      const streams = (v: number) => (v / FRAMES_PER_STREAM_SECOND).toFixed(0);
      out.write(
        `${name.padEnd(8)}${mode.padEnd(13)}${pad(String(b), 6)}${pad(m.cpu.toFixed(0), 10)}${pad(streams(m.cpu), 14)}${pad(`${(m.cpu / base.cpu).toFixed(2)}x`, 8)}` +
          `${pad((1e6 / m.cpu).toFixed(1), 14)}${pad(streams(m.wall), 14)}${pad(`${(m.wall / base.wall).toFixed(2)}x`, 12)}\n`,
      );
    }
  }
}

// The graph as shipped (convolutions run image by image) against the rewritten one (the engine's
// default, stages/vad/silero-graph.ts): speech, the target batch, both modes, interleaved.
const shippedEngine = await createSileroEngine({ maxBatch: TARGET_BATCH, rewriteGraph: false });
const speech = inputs[1]![1];
const graphRounds = Math.max(4, Math.ceil(chunksPerRun / TARGET_BATCH));
await measure(shippedEngine, speech, 32, 20, true); // warm-up
const byGraph: Record<'shippedAlone' | 'shippedBatched' | 'rewrittenAlone' | 'rewrittenBatched', number[]> = { shippedAlone: [], shippedBatched: [], rewrittenAlone: [], rewrittenBatched: [] };
for (let r = 0; r < runs; r++) {
  const streamsPerCore = async (e: VadEngine, batched: boolean) => (await measure(e, speech, TARGET_BATCH, graphRounds, batched)).cpuChunksPerSec / FRAMES_PER_STREAM_SECOND;
  byGraph.shippedAlone.push(await streamsPerCore(shippedEngine, false));
  byGraph.rewrittenAlone.push(await streamsPerCore(engine, false));
  byGraph.shippedBatched.push(await streamsPerCore(shippedEngine, true));
  byGraph.rewrittenBatched.push(await streamsPerCore(engine, true));
}
await shippedEngine.close();

// The 8 kHz option: same speech, same batch, both rates interleaved in this run.
const engine8k = await createSileroEngine({ maxBatch: TARGET_BATCH, sampleRate: 8_000 });
const frames8k = await speechFrames(8_000);
const frames16k = inputs[1]![1];
const rounds = Math.max(4, Math.ceil(chunksPerRun / TARGET_BATCH));
await measure(engine8k, frames8k, 32, 20, true); // warm-up
const byRate: Record<'16k' | '8k', number[]> = { '16k': [], '8k': [] };
for (let r = 0; r < runs; r++) {
  byRate['16k'].push((await measure(engine, frames16k, TARGET_BATCH, rounds, true)).cpuChunksPerSec / FRAMES_PER_STREAM_SECOND);
  byRate['8k'].push((await measure(engine8k, frames8k, TARGET_BATCH, rounds, true)).cpuChunksPerSec / FRAMES_PER_STREAM_SECOND);
}
await engine.close();
await engine8k.close();

out.write(`\nchunks/s = chunks per CPU second of this process (user + system; ONNX runs on one thread, so one core); streams/core = that / 31.25;\n`);
out.write(`ratio = against per-session at the same batch size, measured interleaved in this run. "wall" columns: the same by the wall clock.\n`);
out.write(`The machine has ${os.cpus().length} cores; every figure is per core (load average at the end ${load()}; a busy machine lowers the wall figures most).\n`);
const g = Object.fromEntries(Object.entries(byGraph).map(([k, v]) => [k, median(v)])) as Record<keyof typeof byGraph, number>;
out.write(`\nModel graph, real speech, batch ${TARGET_BATCH}, median of ${runs} runs interleaved (realtime streams per core):\n`);
out.write(`  as shipped: per-session ${g.shippedAlone.toFixed(0)}, batched ${g.shippedBatched.toFixed(0)} (${(g.shippedBatched / g.shippedAlone).toFixed(2)}x)\n`);
out.write(`  convolutions as matrix products (default): per-session ${g.rewrittenAlone.toFixed(0)}, batched ${g.rewrittenBatched.toFixed(0)} (${(g.rewrittenBatched / g.shippedBatched).toFixed(2)}x the shipped graph batched)\n`);
// The baseline is the faster per-session figure of the two graphs: the comparison the rewrite cannot flatter.
const base = Math.max(g.shippedAlone, g.rewrittenAlone);
const ratio = g.rewrittenBatched / base;
out.write(`\nTarget 1 (VAD), real speech, batch ${TARGET_BATCH} (PARLEY_VAD_MAX_BATCH default), median of ${runs} runs:\n`);
out.write(`  batched vs per-session baseline (the faster graph per session): ${g.rewrittenBatched.toFixed(0)} vs ${base.toFixed(0)} realtime streams per core = ${ratio.toFixed(2)}x (target >= ${TARGET_RATIO}x) ${ratio >= TARGET_RATIO ? 'MET' : 'NOT MET'}\n`);
out.write(`  realtime streams per core: ${g.rewrittenBatched.toFixed(0)} (target >= ${TARGET_STREAMS_PER_CORE}) ${g.rewrittenBatched >= TARGET_STREAMS_PER_CORE ? 'MET' : 'NOT MET'}\n`);
const s16 = median(byRate['16k']);
const s8 = median(byRate['8k']);
out.write(`\nPARLEY_VAD_SAMPLE_RATE=8000, real speech, batch ${TARGET_BATCH}, interleaved with 16 kHz, median of ${runs} runs:\n`);
out.write(`  8 kHz ${s8.toFixed(0)} vs 16 kHz ${s16.toFixed(0)} realtime streams per core = ${(s8 / s16).toFixed(2)}x (inference only; the resampling to either rate costs about the same: lib/audio/bench-resample.ts)\n`);
