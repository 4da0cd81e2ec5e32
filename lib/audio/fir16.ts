// The VAD resampler's 16-tap FIR in WebAssembly SIMD (fir16.wat): two taps per instruction and no
// bounds checks, bit-identical to the JS loop. One instance per thread; every resampler of the
// thread copies its history window in, runs the kernel, and copies the floats out (a few KB per
// 40 ms: far less than the arithmetic it replaces). Null where WebAssembly SIMD is unavailable.
import { FIR16_WASM } from './fir16-wasm.ts';

// The WebAssembly global as used here (the project compiles without the DOM lib that declares it).
declare const WebAssembly: { Module: new (bytes: Uint8Array) => object; Instance: new (module: object) => { exports: Record<string, unknown> } };
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

type Kernel = (h: number, c: number, out: number, count: number, phase: number, stepWhole: number, stepFrac: number, up: number, scale: number) => void;

export interface Fir16 {
  /**
   * `count` outputs into `out` from `offset`, starting at history index `start` with polyphase
   * `phase`; `coeffs` holds `up` phases of 16 taps each. The caller advances its own state.
   */
  run(history: Float64Array, start: number, coeffs: Float64Array, out: Float32Array, offset: number, count: number, phase: number, stepWhole: number, stepFrac: number, up: number, scale: number): void;
}

const PAGE = 65_536;
let shared: Fir16 | null | undefined;

/** This thread's SIMD kernel, or null when it cannot be instantiated (then the JS loop runs). */
export function simdFir16(): Fir16 | null {
  if (shared !== undefined) return shared;
  try {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(FIR16_WASM, 'base64')));
    shared = wrap(instance.exports['memory'] as WasmMemory, instance.exports['fir16'] as Kernel);
  } catch {
    shared = null;
  }
  return shared;
}

function wrap(memory: WasmMemory, kernel: Kernel): Fir16 {
  let loaded: Float64Array | undefined; // the coefficient table now in memory
  // Views of the whole memory, made again only when it grows (not three per frame).
  let f64 = new Float64Array(memory.buffer);
  let f32 = new Float32Array(memory.buffer);
  return {
    run(history, start, coeffs, out, offset, count, phase, stepWhole, stepFrac, up, scale) {
      if (count <= 0) return;
      // History the outputs read: up to the last output's first tap, plus its 16 taps.
      const last = start + (count - 1) * stepWhole + Math.floor((phase + (count - 1) * stepFrac) / up);
      const span = last - start + 16;
      const hAt = coeffs.byteLength;
      const outAt = hAt + span * 8;
      const needed = outAt + count * 4;
      if (needed > memory.buffer.byteLength) {
        memory.grow(Math.ceil((needed - memory.buffer.byteLength) / PAGE));
        f64 = new Float64Array(memory.buffer);
        f32 = new Float32Array(memory.buffer);
      }
      if (loaded !== coeffs) {
        f64.set(coeffs, 0);
        loaded = coeffs;
      }
      // hAt and outAt are multiples of 8 and 4: the byte offsets index the views directly.
      f64.set(history.subarray(start, start + span), hAt / 8);
      kernel(hAt, 0, outAt, count, phase, stepWhole, stepFrac, up, scale);
      out.set(f32.subarray(outAt / 4, outAt / 4 + count), offset);
    },
  };
}
