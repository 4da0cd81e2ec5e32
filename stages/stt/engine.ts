// The STT engine contract: a committed utterance (24 kHz PCM16) in, text out. Engines are
// registered explicitly in a map chosen by config; capabilities are data on the engine.
export interface SttRequest {
  readonly audio: Uint8Array;
  readonly sampleRate: number;
  readonly language: string | null;
  readonly prompt: string | null;
  readonly model: string | null;
  readonly signal: AbortSignal;
}

export interface SttResult {
  readonly text: string;
}

export interface SttEngine {
  readonly name: string;
  readonly capabilities: { readonly streaming: boolean; readonly languages: readonly string[] | 'any' };
  transcribe(req: SttRequest): Promise<SttResult>;
  close(): Promise<void>;
}
