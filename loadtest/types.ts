// Shapes shared by the loadtest parent, its worker processes and the reports: the run config, one
// utterance of the corpus, what a worker records per turn and per session, and the IPC messages.
// Every time is in milliseconds since the run's start (one wall-clock origin for all processes).

export interface LoadtestConfig {
  /** Realtime endpoint, ws:// or wss://, with or without `?model=`. */
  readonly url: string;
  readonly apiKey: string;
  readonly model: string;
  /** PEM file of a CA to trust for wss:// (a self-signed gateway). */
  readonly ca?: string | undefined;
  readonly insecure: boolean;
  readonly sessions: number;
  readonly nWorkers: number;
  /**
   * Niceness of the worker processes (0-19). When the load generator shares the machine with the
   * server under test, a positive value lets the server's threads run first, as if the clients
   * were elsewhere; the workers' own send and receive times may then be later, never earlier.
   */
  readonly clientNice?: number | undefined;
  /** Turns per session; ignored when `durationMs` is set. */
  readonly turns: number;
  /** Run turns until this much time has passed since the run started (then finish the current turn). */
  readonly durationMs?: number | undefined;
  /** Delay between two session starts. */
  readonly rampMs: number;
  /** Length of one `input_audio_buffer.append`. */
  readonly chunkMs: number;
  /** White noise at this RMS level (dBFS) under everything sent, as from a plain microphone; undefined: digital silence between utterances. */
  readonly noiseDbfs?: number | undefined;
  /** server_vad `silence_duration_ms` asked for in session.update. */
  readonly vadSilenceMs: number;
  readonly transcriptionModel: string;
  readonly instructions?: string | undefined;
  /** Give up on a turn this long after its audio ended. */
  readonly turnTimeoutMs: number;
  /** Random pause (silence at real-time pace) after a turn and before the first one: [min, max]. */
  readonly pauseMs: readonly [number, number];
  readonly seed: number;
}

export interface Utterance {
  readonly id: string;
  readonly text: string;
  readonly voice: string;
  readonly wpm: number;
  /** Raw PCM16 mono 24 kHz (in the corpus cache). */
  readonly file: string;
  readonly samples: number;
  /** First and last voiced sample (exclusive end): "audio start" and "audio end". */
  readonly voicedStart: number;
  readonly voicedEnd: number;
}

export interface FrameLagStats {
  readonly count: number;
  readonly meanMs: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Appends sent more than 20 ms after their schedule. */
  readonly late: number;
}

export type TurnStatus = 'completed' | 'cancelled' | 'failed' | 'incomplete' | 'timeout' | 'aborted' | 'dropped';

export interface TurnRecord {
  readonly session: number;
  readonly worker: number;
  readonly turn: number;
  readonly utterance: string;
  status: TurnStatus;
  /** Send time of the append holding the first / last voiced sample. */
  audioStart: number;
  audioEnd: number;
  speechStarted?: number;
  speechStopped?: number;
  firstTranscript?: number;
  transcriptDone?: number;
  responseCreated?: number;
  firstText?: number;
  firstAudio?: number;
  lastAudio?: number;
  responseDone?: number;
  audioBytes: number;
  /** Length of the response audio received, PCM16 24 kHz. */
  audioMs: number;
  /** Responses created during the turn, and how many of them ended cancelled (VAD split the utterance). */
  responses: number;
  cancelled: number;
  speechSegments: number;
  errors: number;
  transcript?: string;
  answer?: string;
  frameLag?: FrameLagStats;
}

export interface SessionRecord {
  readonly session: number;
  readonly worker: number;
  startedAt: number;
  connectedAt?: number;
  endedAt?: number;
  turnsCompleted: number;
  dropped: boolean;
  failed: boolean;
  failure?: string;
  /** Errors by kind: `event:<code>` for Realtime error events, `socket:<message>`, `close:<code>`, `turn:<status>`. */
  errors: Record<string, number>;
}

export type ToWorker =
  | { readonly type: 'start'; readonly worker: number; readonly config: LoadtestConfig; readonly sessions: readonly number[]; readonly corpus: readonly Utterance[]; readonly runStartEpochMs: number }
  | { readonly type: 'stop' };

export type FromWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'connected'; readonly session: number }
  | { readonly type: 'error'; readonly session: number; readonly kind: string; readonly message: string }
  | { readonly type: 'turn'; readonly record: TurnRecord }
  | { readonly type: 'session'; readonly record: SessionRecord }
  | { readonly type: 'done'; readonly cpuMs: number }
  | { readonly type: 'fatal'; readonly message: string };

/** Milliseconds since the Unix epoch with sub-millisecond precision, comparable across processes. */
export const epochNow = (): number => performance.timeOrigin + performance.now();
