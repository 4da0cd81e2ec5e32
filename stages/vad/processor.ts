// The VAD worker's engine room: messages of every owned partition land here in order; each round
// takes the oldest pending frame of every session, runs ONE batched Silero inference over them, and
// applies the results. Once inference keeps the worker busy (`batchAboveBusy` of the last second),
// rounds start at most every `batchWindowMs`: inference costs far less per frame in large batches,
// and a round at every arriving message would mean a batch of a few frames and a thread wakeup
// each. A lightly loaded worker runs a round as soon as a frame waits: no delay where the CPU is
// there anyway. The window bounds the delay it adds; a round longer than the window is followed
// at once. Control (commit/clear/config) runs only when every earlier frame of its
// session is done, so order per session is exact. A message is acked once the work it caused is
// published. Per-session sequence numbers drop redelivered duplicates, and the processor knows,
// per partition, the oldest stream sequence it still needs: the checkpoint a successor replays from.
import type { Bus } from '../../lib/nats/bus.ts';
import { decodeJsonOrUndefined } from '../../lib/nats/publish.ts';
import type { Logger } from '../../lib/logger.ts';
import { hotCounter, metrics } from '../../lib/metrics.ts';
import { errorMessage } from '../../lib/errors.ts';
import type { SessionStore } from '../../lib/session-store.ts';
import { validators, type AudioHeaders } from '../../schemas/index.ts';
import { partitionOf } from '../../subjects/index.ts';
import { SessionVad, type PendingFrame, type VadAction } from './session-vad.ts';
import type { VadEngine } from './silero-engine.ts';
import { publishVadAction, storeTurn } from './publish-actions.ts';

// Counted in plain numbers: a labelled inc() per frame would hash its labels thousands of times a second.
const inferredFrames = hotCounter(metrics.vadFrames, { result: 'inferred' });
const silentFrames = hotCounter(metrics.vadFrames, { result: 'silent' });

/** A message from the audio stream: live from the durable consumer, or replayed on takeover. */
export interface AudioMessage {
  readonly streamSeq: number;
  readonly subject: string;
  /** Its Parley-* headers, read once when the message arrived. */
  readonly meta: AudioHeaders;
  readonly data: Uint8Array;
  ack(): void;
  term(): void;
}

interface SessionSlot {
  readonly vad: SessionVad;
  readonly partition: number;
  inbox: AudioMessage[];
  /** Publishes of this session's actions, in order; acks wait for the ones before them. */
  chain: Promise<void>;
  /** Actions on the chain not yet published: with none, an ack goes out at once. */
  publishing: number;
  /** Last per-session sequence (Parley-Seq) accepted: anything at or below is a duplicate. */
  lastSeq: number;
  /** Audio messages whose samples are still in the buffer, oldest first. */
  held: Array<{ streamSeq: number; endSample: number }>;
  /** False until the session's turn-detection config is known (from the stream or from KV). */
  configured: boolean;
}

export interface VadProcessorOptions {
  readonly bus: Bus;
  readonly engine: VadEngine;
  readonly log: Logger;
  readonly sessions: SessionStore;
  readonly maxBufferMs: number;
  readonly maxUtteranceMs: number;
  readonly silenceFloorDbfs: number;
  /** Least time between the starts of two inference rounds (0: a round as soon as a frame waits). */
  readonly batchWindowMs: number;
  /** Share of the last second spent in inference above which the window applies (0: always). */
  readonly batchAboveBusy: number;
}

export class VadProcessor {
  private readonly slots = new Map<string, SessionSlot>();
  /** Sessions with a message or a frame waiting: a round visits only these, not every session. */
  private readonly ready = new Set<SessionSlot>();
  private readonly lastStreamSeq = new Map<number, number>();
  private running: Promise<void> | undefined;
  private roundTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private lastRoundAt = -Infinity;
  /** Inference time in the current second, and whether the last second was busy enough to batch. */
  private busyMs = 0;
  private busySince = performance.now();
  private batching: boolean;
  private readonly idleTimer: NodeJS.Timeout;

  /** Called when a partition's liveness probe came back through its consumer. */
  onProbe: (partition: number) => void = () => undefined;

  constructor(private readonly o: VadProcessorOptions) {
    this.batching = o.batchAboveBusy <= 0;
    // Sessions that went quiet without a close (their gateway died) are forgotten after a while.
    this.idleTimer = setInterval(() => this.evictIdle(10 * 60_000), 60_000);
    this.idleTimer.unref();
  }

  get sessionCount(): number {
    return this.slots.size;
  }

  enqueue(msg: AudioMessage): void {
    const { meta } = msg;
    if (meta.kind === 'probe') {
      msg.ack();
      this.onProbe(Number(msg.subject.split('.').at(-2)));
      return;
    }
    const sid = this.o.bus.cat.subjects.sessionOf(msg.subject);
    const { gateway: gw, seq } = meta;
    if (!sid || !gw || !Number.isInteger(seq)) {
      this.o.log.warn({ subject: msg.subject }, 'audio message without session, gateway or seq header, dropped');
      msg.term();
      return;
    }
    const partition = partitionOf(sid, this.o.bus.cat.partitions);
    this.lastStreamSeq.set(partition, Math.max(this.lastStreamSeq.get(partition) ?? 0, msg.streamSeq));
    let slot = this.slots.get(sid);
    if (!slot) {
      slot = this.newSlot(sid, gw, partition, msg);
    } else if (seq <= slot.lastSeq) {
      msg.ack(); // a redelivery of something already processed (or replayed on takeover)
      return;
    }
    slot.lastSeq = seq;
    if (meta.sentAt) metrics.vadDeliverySeconds.observe(Math.max(0, Date.now() - meta.sentAt) / 1000);
    slot.vad.gatewayId = gw; // a resumed session may have moved to another gateway
    slot.inbox.push(msg);
    this.ready.add(slot);
    this.kick();
  }

  private newSlot(sid: string, gw: string, partition: number, first: AudioMessage): SessionSlot {
    const slot: SessionSlot = {
      vad: new SessionVad(sid, gw, this.o.engine, { maxBufferMs: this.o.maxBufferMs, maxUtteranceMs: this.o.maxUtteranceMs, silenceFloorDbfs: this.o.silenceFloorDbfs }),
      partition,
      inbox: [],
      chain: Promise.resolve(),
      publishing: 0,
      lastSeq: -1,
      held: [],
      configured: isConfigControl(first),
    };
    this.slots.set(sid, slot);
    metrics.vadSessions.set(this.slots.size);
    // Met mid-session (after a takeover or restart): its turn-detection config comes from KV.
    if (!slot.configured) void this.loadConfig(slot);
    return slot;
  }

  private async loadConfig(slot: SessionSlot): Promise<void> {
    try {
      const stored = await this.o.sessions.load(slot.vad.sessionId);
      const cfg = stored?.record.config;
      if (stored && cfg) {
        const td = validators.turnDetection.check(cfg['turn_detection']) ? cfg['turn_detection'] : undefined;
        const tr = validators.transcription.check(cfg['transcription']) ? cfg['transcription'] : null;
        if (td !== undefined) slot.vad.applyControl({ op: 'config', turnDetection: td, transcription: tr, tenantId: stored.record.tenantId });
      }
    } catch (err) {
      this.o.log.warn({ session: slot.vad.sessionId, err: errorMessage(err) }, 'session config unavailable, using defaults');
    }
    slot.configured = true;
    if (this.slots.get(slot.vad.sessionId) === slot) this.ready.add(slot);
    this.kick();
  }

  /** The oldest audio stream sequence a successor must replay from to rebuild `partition`. */
  checkpoint(partition: number): number | undefined {
    let min: number | undefined;
    for (const slot of this.slots.values()) {
      if (slot.partition !== partition) continue;
      const first = slot.held[0]?.streamSeq ?? slot.inbox[0]?.streamSeq;
      if (first !== undefined && (min === undefined || first < min)) min = first;
    }
    const last = this.lastStreamSeq.get(partition);
    return min ?? (last === undefined ? undefined : last + 1);
  }

  /** Drop state of a partition we no longer own (its messages will be processed by the next owner). */
  forgetPartition(partition: number): void {
    for (const slot of this.slots.values()) if (slot.partition === partition) this.forget(slot);
    this.lastStreamSeq.delete(partition);
    metrics.vadSessions.set(this.slots.size);
  }

  async idle(): Promise<void> {
    // A pending round timer fires within the window; after close() none is pending.
    while (this.running || (this.roundTimer && !this.closed)) await (this.running ?? new Promise((r) => setTimeout(r, Math.max(1, this.o.batchWindowMs))));
    await Promise.all([...this.slots.values()].map((s) => s.chain));
  }

  close(): void {
    this.closed = true;
    clearInterval(this.idleTimer);
    clearTimeout(this.roundTimer);
    this.roundTimer = undefined;
  }

  /** Schedule the next round: now if the window since the last one has passed, else when it does. */
  private kick(): void {
    if (this.closed || this.running || this.roundTimer || this.ready.size === 0) return;
    const wait = this.batching ? this.lastRoundAt + this.o.batchWindowMs - performance.now() : 0;
    if (wait > 0) {
      this.roundTimer = setTimeout(() => {
        this.roundTimer = undefined;
        this.kick();
      }, wait);
      return;
    }
    this.running = this.round().finally(() => {
      this.running = undefined;
      this.kick();
    });
  }

  private async round(): Promise<void> {
    const batch: Array<{ slot: SessionSlot; frame: PendingFrame }> = [];
    for (const slot of this.ready) {
      this.admit(slot);
      let frame = slot.vad.frames[0];
      // Silent frames need no inference: decided at once, in order, so they never wait for a round.
      // Bounded: each pass consumes a frame, and admit() takes at most the messages already in the inbox.
      while (frame?.silent) {
        this.applyFrame(slot, frame, 0);
        this.admit(slot);
        frame = slot.vad.frames[0];
      }
      if (frame) batch.push({ slot, frame });
      else this.ready.delete(slot); // nothing left, or waiting for its config (loadConfig re-adds it)
    }
    if (batch.length === 0) return; // control only: no inference, the window is not used up
    const started = performance.now();
    this.lastRoundAt = started;
    let probs: Float32Array;
    try {
      probs = await this.o.engine.inferBatch(batch.map((b) => ({ state: b.slot.vad.vadState, frame: b.frame.frame })));
    } catch (err) {
      // An inference failure must not wedge every session: treat the frames as silence.
      this.o.log.error({ err: errorMessage(err), batch: batch.length }, 'vad inference failed');
      probs = new Float32Array(batch.length);
    }
    const ended = performance.now();
    metrics.vadInferenceSeconds.observe((ended - started) / 1000);
    metrics.vadBatchSize.observe(batch.length);
    this.busyMs += ended - started;
    if (ended - this.busySince >= 1_000) {
      this.batching = this.busyMs / (ended - this.busySince) >= this.o.batchAboveBusy;
      this.busyMs = 0;
      this.busySince = ended;
    }
    batch.forEach(({ slot, frame }, i) => this.applyFrame(slot, frame, probs[i]!));
    inferredFrames.inc(batch.length);
  }

  /** Decide a session's oldest frame: its actions run, its message may be acked, its buffer reused. */
  private applyFrame(slot: SessionSlot, frame: PendingFrame, prob: number): void {
    slot.vad.frames.shift();
    if (frame.silent) silentFrames.inc();
    this.run(slot, slot.vad.applyProbability(prob, frame));
    frame.done();
    slot.vad.recycle(frame);
    this.release(slot);
  }

  /** Move messages from the inbox into the session while no frame of an earlier message waits. */
  private admit(slot: SessionSlot): void {
    while (slot.configured && slot.vad.frames.length === 0 && slot.inbox.length > 0) {
      const msg = slot.inbox.shift()!;
      const { kind, offset, sentAt } = msg.meta;
      if (kind === 'audio') {
        if (!Number.isFinite(offset) || msg.data.length % 2 !== 0) {
          this.o.log.warn({ session: slot.vad.sessionId }, 'malformed audio frame, dropped');
          msg.term();
          continue;
        }
        slot.held.push({ streamSeq: msg.streamSeq, endSample: offset + msg.data.length / 2 });
        slot.vad.appendAudio(msg.data, offset, () => {
          if (sentAt) metrics.vadLagSeconds.observe(Math.max(0, Date.now() - sentAt) / 1000);
          this.ackAfter(slot, msg);
        });
        this.release(slot);
      } else if (kind === 'control') {
        this.applyControl(slot, msg);
      } else {
        msg.term();
      }
    }
  }

  /** Forget held messages whose audio has left the buffer (trimmed or committed). */
  private release(slot: SessionSlot): void {
    const from = slot.vad.heldFromSample;
    while (slot.held.length && slot.held[0]!.endSample <= from) slot.held.shift();
  }

  private applyControl(slot: SessionSlot, msg: AudioMessage): void {
    const ctl = validators.inputControl.validate(decodeJsonOrUndefined(msg.data));
    if (!ctl.ok) {
      this.o.log.warn({ session: slot.vad.sessionId, err: ctl.error.message }, 'invalid input control, dropped');
      msg.term();
      return;
    }
    this.run(slot, slot.vad.applyControl(ctl.value));
    this.release(slot);
    if (ctl.value.op === 'close') {
      const sid = slot.vad.sessionId;
      slot.chain = slot.chain.then(() => {
        if (this.slots.get(sid) === slot && slot.inbox.length === 0) this.forget(slot);
        metrics.vadSessions.set(this.slots.size);
      });
    }
    this.ackAfter(slot, msg);
  }

  private ackAfter(slot: SessionSlot, msg: AudioMessage): void {
    // Most frames cause no action: no promise per message for them (thousands a second).
    if (slot.publishing === 0) msg.ack();
    else slot.chain = slot.chain.then(() => msg.ack());
  }

  private run(slot: SessionSlot, actions: VadAction[]): void {
    for (const action of actions) {
      slot.publishing++;
      // A turn's audio and STT job start now rather than behind speech_stopped's PubAck: one bus
      // round trip less before transcription. Its failure surfaces on the chain, where it is awaited.
      const stored = action.type === 'commit' ? storeTurn(this.o.bus, slot.vad, action) : undefined;
      stored?.catch(() => undefined);
      slot.chain = slot.chain
        .then(() => publishVadAction(this.o.bus, slot.vad, action, stored))
        .catch((err: unknown) => this.o.log.error({ session: slot.vad.sessionId, err: errorMessage(err) }, 'vad action failed'))
        .finally(() => slot.publishing--);
    }
  }

  /** Drop a session's state (it is in `ready` only while it has work). */
  private forget(slot: SessionSlot): void {
    this.slots.delete(slot.vad.sessionId);
    this.ready.delete(slot);
  }

  private evictIdle(maxIdleMs: number): void {
    const now = Date.now();
    for (const slot of this.slots.values()) {
      if (slot.inbox.length === 0 && slot.vad.frames.length === 0 && now - slot.vad.lastActivity > maxIdleMs) this.forget(slot);
    }
    metrics.vadSessions.set(this.slots.size);
  }
}

function isConfigControl(msg: AudioMessage): boolean {
  if (msg.meta.kind !== 'control') return false;
  return (decodeJsonOrUndefined(msg.data) as { op?: unknown } | null | undefined)?.op === 'config';
}
