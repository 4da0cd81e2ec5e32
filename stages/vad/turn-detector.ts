// Turn detection on a stream of speech probabilities (one per 32 ms frame), with OpenAI server_vad
// semantics: speech starts on the first frame >= threshold (reported `prefix_padding_ms` earlier),
// and stops after `silence_duration_ms` of frames below the hysteresis threshold; audio_end_ms
// includes that silence. Pure logic: no I/O, tested as probabilities in -> events out.
import type { TurnDetectionSettings } from '../../schemas/index.ts';

export interface DetectorParams {
  readonly threshold: number;
  readonly prefixPaddingMs: number;
  readonly silenceDurationMs: number;
}

export type DetectorEvent =
  | { type: 'speech_started'; speechStartMs: number; audioStartMs: number }
  | { type: 'speech_stopped'; speechEndMs: number; audioEndMs: number; audioStartMs: number };

/** semantic_vad has no semantic model here: eagerness maps onto how long a pause ends a turn. */
const EAGERNESS_SILENCE_MS = { low: 1_200, medium: 700, auto: 700, high: 350 } as const;

export function detectorParams(td: TurnDetectionSettings): DetectorParams | null {
  if (td === null) return null;
  if (td.type === 'server_vad') {
    return { threshold: td.threshold, prefixPaddingMs: td.prefix_padding_ms, silenceDurationMs: td.silence_duration_ms };
  }
  return { threshold: 0.5, prefixPaddingMs: 300, silenceDurationMs: EAGERNESS_SILENCE_MS[td.eagerness] };
}

export class TurnDetector {
  private inSpeech = false;
  private speechStartMs = 0;
  private audioStartMs = 0;
  private lastSpeechEndMs = 0;
  private silenceMs = 0;

  constructor(
    private params: DetectorParams,
    private readonly frameMs: number,
  ) {}

  get speaking(): boolean {
    return this.inSpeech;
  }

  get currentAudioStartMs(): number {
    return this.audioStartMs;
  }

  setParams(params: DetectorParams): void {
    this.params = params;
  }

  reset(): void {
    this.inSpeech = false;
    this.silenceMs = 0;
  }

  /**
   * Feed the probability of the frame starting at `frameStartMs`. `floorMs` is the earliest audio
   * still in the input buffer (the last commit or clear): padding never reaches before it.
   */
  push(prob: number, frameStartMs: number, floorMs: number): DetectorEvent | null {
    const { threshold, prefixPaddingMs, silenceDurationMs } = this.params;
    const frameEndMs = frameStartMs + this.frameMs;
    if (!this.inSpeech) {
      if (prob < threshold) return null;
      this.inSpeech = true;
      this.silenceMs = 0;
      this.speechStartMs = frameStartMs;
      this.lastSpeechEndMs = frameEndMs;
      this.audioStartMs = Math.max(floorMs, frameStartMs - prefixPaddingMs);
      return { type: 'speech_started', speechStartMs: frameStartMs, audioStartMs: this.audioStartMs };
    }
    const negThreshold = Math.max(0.01, threshold - 0.15);
    if (prob >= negThreshold) {
      this.silenceMs = 0;
      this.lastSpeechEndMs = frameEndMs;
      return null;
    }
    this.silenceMs += this.frameMs;
    if (this.silenceMs < silenceDurationMs) return null;
    this.inSpeech = false;
    this.silenceMs = 0;
    return { type: 'speech_stopped', speechEndMs: this.lastSpeechEndMs, audioEndMs: frameEndMs, audioStartMs: this.audioStartMs };
  }
}
