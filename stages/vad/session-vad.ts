// Everything the VAD owner holds for one session: the 24 kHz input buffer, the resampler to the model's rate,
// frames waiting for inference, the recurrent Silero state and the turn detector. It turns audio and
// input-buffer control into actions (events to publish, utterances to commit) without doing I/O.
import { Resampler } from '../../lib/audio/index.ts';
import { derivedId } from '../../lib/ids.ts';
import { DEFAULT_SERVER_VAD, type InputControl, type OutboxEvent, type TranscriptionSettings, type TurnDetectionSettings } from '../../schemas/index.ts';
import { InputBuffer } from './input-buffer.ts';
import { TurnDetector, detectorParams } from './turn-detector.ts';
import type { VadEngine, VadStreamState } from './silero-engine.ts';

export const BUS_RATE = 24_000;
const MIN_COMMIT_SAMPLES = BUS_RATE / 10; // OpenAI refuses commits under 100 ms

/** Until the gateway's config control arrives (or after a takeover), OpenAI's defaults apply. */
export const DEFAULT_TURN_DETECTION: TurnDetectionSettings = { ...DEFAULT_SERVER_VAD };

export type VadAction =
  | { type: 'event'; event: OutboxEvent }
  | {
      type: 'commit';
      itemId: string;
      audio: Uint8Array;
      audioStartMs: number;
      audioEndMs: number;
      clientEventId: string | null;
      source: 'vad' | 'client' | 'timeout';
    };

export interface PendingFrame {
  readonly frame: Float32Array;
  readonly startMs: number;
  /** Quieter than the silence floor: taken as silence (probability 0) without inference. */
  readonly silent: boolean;
  /** Called once the frame is processed; lets the owner ack the message it came from. */
  readonly done: () => void;
}

const msOf = (samples: number) => Math.round((samples * 1000) / BUS_RATE);
const samplesOf = (ms: number) => Math.round((ms * BUS_RATE) / 1000);

export interface SessionVadLimits {
  readonly maxBufferMs: number;
  readonly maxUtteranceMs: number;
  /** Frames whose RMS level is below this (dBFS) skip inference: no speech can be found there. */
  readonly silenceFloorDbfs: number;
}

export class SessionVad {
  readonly frames: PendingFrame[] = [];
  /** Replaced by a fresh state when a silent frame ends whatever the stream was doing. */
  vadState: VadStreamState;
  private stateFresh = true;
  /** Mean square (of floats in [-1, 1)) under which a frame is silent. */
  private readonly silentPower: number;
  private readonly buffer: InputBuffer;
  // Silero only needs the speech band: the cheap 'analysis' filter (the bus audio stays untouched).
  private readonly resampler: Resampler;
  private carry = new Float32Array(2048);
  /** Frame buffers whose inference is done, for the next frames (a session holds only a few at once). */
  private readonly spareFrames: Float32Array[] = [];
  private carryLength = 0;
  private nextFrameSample: number | undefined; // index, at the model's rate, of the next frame's first sample
  private detector: TurnDetector | null;
  private turnDetection: TurnDetectionSettings = DEFAULT_TURN_DETECTION;
  private speechItemId: string | null = null;
  transcription: TranscriptionSettings = null;
  tenantId = 'default';
  gatewayId: string;
  lastActivity = Date.now();

  constructor(
    readonly sessionId: string,
    gatewayId: string,
    private readonly engine: VadEngine,
    private readonly limits: SessionVadLimits,
  ) {
    this.gatewayId = gatewayId;
    this.vadState = engine.newState();
    this.silentPower = 10 ** (limits.silenceFloorDbfs / 10);
    this.resampler = new Resampler(BUS_RATE, engine.sampleRate, { quality: 'analysis' });
    this.buffer = new InputBuffer(samplesOf(limits.maxBufferMs));
    const params = detectorParams(this.turnDetection);
    this.detector = params ? new TurnDetector(params, (engine.frameSamples * 1000) / engine.sampleRate) : null;
  }

  get speaking(): boolean {
    return this.detector?.speaking ?? false;
  }

  /** Session sample offset of the oldest audio still held: everything before it can be forgotten. */
  get heldFromSample(): number {
    return this.buffer.startSample;
  }

  /** Buffer a frame of 24 kHz audio starting at session sample `offset`; queue whole VAD frames. */
  appendAudio(pcm: Uint8Array, offset: number, done: () => void): number {
    this.lastActivity = Date.now();
    const dropped = this.buffer.append(pcm, offset);
    if (!this.detector) {
      done();
      return dropped;
    }
    this.nextFrameSample ??= Math.round((offset * this.engine.sampleRate) / BUS_RATE);
    // Floats at the model's rate are resampled straight into one reusable buffer, and whole frames copied into
    // recycled frame buffers: no allocation per message (thousands a second per VAD worker).
    const room = this.carryLength + this.resampler.maxOutputFor(pcm.length);
    if (room > this.carry.length) {
      const grown = new Float32Array(Math.max(this.carry.length * 2, room));
      grown.set(this.carry.subarray(0, this.carryLength));
      this.carry = grown;
    }
    this.carryLength += this.resampler.pushFloat32Into(pcm, this.carry, this.carryLength);
    const n = this.engine.frameSamples;
    const whole = Math.floor(this.carryLength / n);
    if (whole === 0) done();
    for (let i = 0; i < whole; i++) {
      const startMs = (this.nextFrameSample * 1000) / this.engine.sampleRate;
      this.nextFrameSample += n;
      const frame = this.spareFrames.pop() ?? new Float32Array(n);
      frame.set(this.carry.subarray(i * n, (i + 1) * n));
      this.frames.push({ frame, startMs, silent: meanSquare(frame) < this.silentPower, done: i === whole - 1 ? done : noop });
    }
    this.carry.copyWithin(0, whole * n, this.carryLength);
    this.carryLength -= whole * n;
    return dropped;
  }

  /** Hand back a frame whose probability has been applied: its buffer is reused. */
  recycle(frame: PendingFrame): void {
    if (this.spareFrames.length < 4) this.spareFrames.push(frame.frame);
  }

  /** Apply the speech probability of the oldest queued frame (a silent frame's is 0: pass 0). */
  applyProbability(prob: number, frame: PendingFrame): VadAction[] {
    const detector = this.detector;
    if (!detector) return [];
    if (!frame.silent) this.stateFresh = false;
    else if (!this.stateFresh) {
      // The model did not hear the silence: after it, the stream starts afresh, as Silero's own streams do.
      this.vadState = this.engine.newState();
      this.stateFresh = true;
    }
    const frameMs = (this.engine.frameSamples * 1000) / this.engine.sampleRate;
    const floorMs = msOf(this.buffer.startSample);
    const ev = detector.push(prob, frame.startMs, floorMs);
    const actions: VadAction[] = [];
    if (ev?.type === 'speech_started') {
      this.speechItemId = derivedId('item', this.sessionId, 'vad', samplesOf(ev.audioStartMs));
      actions.push({ type: 'event', event: { kind: 'vad.speech_started', itemId: this.speechItemId, audioStartMs: Math.round(ev.audioStartMs) } });
    } else if (ev?.type === 'speech_stopped') {
      actions.push(...this.finishSpeech(ev.audioStartMs, ev.audioEndMs));
    } else if (detector.speaking && frame.startMs + frameMs - detector.currentAudioStartMs >= this.limits.maxUtteranceMs) {
      // A turn that never pauses is cut so the buffer and the STT job stay bounded.
      detector.reset();
      actions.push(...this.finishSpeech(detector.currentAudioStartMs, frame.startMs + frameMs));
    }
    if (!detector.speaking) {
      // Keep only the prefix-padding window while nobody speaks.
      const keepMs = this.turnDetection?.type === 'server_vad' ? this.turnDetection.prefix_padding_ms : 300;
      this.buffer.trimBefore(samplesOf(frame.startMs + frameMs - keepMs));
    }
    return actions;
  }

  private finishSpeech(audioStartMs: number, audioEndMs: number): VadAction[] {
    const itemId = this.speechItemId ?? derivedId('item', this.sessionId, 'vad', samplesOf(audioStartMs));
    this.speechItemId = null;
    const startSample = samplesOf(audioStartMs);
    const endSample = samplesOf(audioEndMs);
    const audio = this.buffer.take(startSample, endSample);
    return [
      { type: 'event', event: { kind: 'vad.speech_stopped', itemId, audioEndMs: Math.round(audioEndMs), speechEndAt: Date.now() } },
      { type: 'commit', itemId, audio, audioStartMs: Math.round(audioStartMs), audioEndMs: Math.round(audioEndMs), clientEventId: null, source: 'vad' },
    ];
  }

  /** Control runs only after every frame queued before it was processed (the owner ensures it). */
  applyControl(ctl: InputControl): VadAction[] {
    this.lastActivity = Date.now();
    switch (ctl.op) {
      case 'config':
        this.configure(ctl.turnDetection);
        this.transcription = ctl.transcription;
        this.tenantId = ctl.tenantId;
        return [];
      case 'commit': {
        const start = this.buffer.startSample;
        const end = this.buffer.endSample;
        if (ctl.idleTimeout) {
          // Nobody spoke within idle_timeout_ms: commit what is there (maybe nothing) and answer.
          if (this.speaking) return []; // speech began meanwhile: the turn will commit itself
          const itemId = derivedId('item', this.sessionId, 'timeout', start, end);
          const audio = this.buffer.take(start, end);
          return [
            { type: 'event', event: { kind: 'input.timeout_triggered', itemId, audioStartMs: msOf(start), audioEndMs: msOf(end) } },
            { type: 'commit', itemId, audio, audioStartMs: msOf(start), audioEndMs: msOf(end), clientEventId: null, source: 'timeout' },
          ];
        }
        if (end - start < MIN_COMMIT_SAMPLES) {
          const ms = ((end - start) * 1000) / BUS_RATE;
          return [
            {
              type: 'event',
              event: {
                kind: 'input.error',
                code: 'input_audio_buffer_commit_empty',
                message: `Error committing input audio buffer: buffer too small. Expected at least 100ms of audio, but buffer only has ${ms.toFixed(2)}ms of audio.`,
                clientEventId: ctl.clientEventId,
              },
            },
          ];
        }
        this.detector?.reset();
        this.speechItemId = null;
        const itemId = derivedId('item', this.sessionId, 'commit', start, end);
        const audio = this.buffer.take(start, end);
        return [{ type: 'commit', itemId, audio, audioStartMs: msOf(start), audioEndMs: msOf(end), clientEventId: ctl.clientEventId, source: 'client' }];
      }
      case 'clear':
        this.buffer.clear();
        this.detector?.reset();
        this.speechItemId = null;
        return [{ type: 'event', event: { kind: 'input.cleared', clientEventId: ctl.clientEventId } }];
      case 'close':
        return [];
      default: {
        const never: never = ctl;
        return never;
      }
    }
  }

  private configure(td: TurnDetectionSettings): void {
    this.turnDetection = td;
    const params = detectorParams(td);
    if (!params) {
      // Push-to-talk: no inference at all; pending frames are simply released.
      this.detector = null;
      for (const f of this.frames.splice(0)) f.done();
      this.carryLength = 0;
      this.nextFrameSample = undefined;
      this.resampler.reset();
      return;
    }
    if (this.detector) this.detector.setParams(params);
    else this.detector = new TurnDetector(params, (this.engine.frameSamples * 1000) / this.engine.sampleRate);
  }
}

function noop(): void {}

function meanSquare(frame: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < frame.length; i++) sum += frame[i]! * frame[i]!;
  return sum / frame.length;
}
