// The TTS engine contract: one sentence in, PCM16 24 kHz mono audio out as a stream of chunks.
export interface TtsRequest {
  readonly text: string;
  readonly voice: string;
  readonly speed: number;
  readonly signal: AbortSignal;
}

export interface TtsEngine {
  readonly name: string;
  readonly capabilities: { readonly streaming: boolean; readonly sampleRate: 24_000; readonly voices: readonly string[] | 'any' };
  synthesize(req: TtsRequest): AsyncIterable<Uint8Array>;
  close(): Promise<void>;
}

/** Re-cut a PCM16 stream into fixed-size chunks (even byte lengths), the last one shorter. */
export async function* rechunk(source: AsyncIterable<Uint8Array>, bytes: number): AsyncIterable<Uint8Array> {
  let pending = new Uint8Array(0);
  for await (const piece of source) {
    const merged = new Uint8Array(pending.length + piece.length);
    merged.set(pending);
    merged.set(piece, pending.length);
    let at = 0;
    while (merged.length - at >= bytes) {
      yield merged.slice(at, at + bytes);
      at += bytes;
    }
    pending = merged.slice(at);
  }
  const even = pending.length - (pending.length % 2);
  if (even > 0) yield pending.slice(0, even);
}
