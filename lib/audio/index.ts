// Public door of the audio DSP module: PCM16 helpers, the streaming resampler,
// G.711 companding and WAV I/O. Import from here, not from the files behind it,
// so the internals (filter design, lookup tables) can move freely.

export {
  pcm16ToFloat32,
  float32ToPcm16,
  pcm16Samples,
  readPcm16,
  writePcm16,
  msToSamples,
  samplesToMs,
  pcm16DurationMs,
  rmsDbfs,
  concatBytes,
} from './pcm.ts';
export { Resampler, resamplePcm16, type ResamplerOptions, type ResampleQuality } from './resample.ts';
export {
  pcm16ToUlaw,
  ulawToPcm16,
  pcm16ToAlaw,
  alawToPcm16,
  G711Encoder,
  G711Decoder,
  type G711Law,
} from './g711.ts';
export { encodeWav, decodeWav, type DecodedWav } from './wav.ts';
