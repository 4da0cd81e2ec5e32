// The VAD worker's engine room: messages of every owned partition land here in order; each round
// takes the oldest pending frame of every session, runs ONE batched Silero inference over them, and
// applies the results. Control (commit/clear/config) runs only when every earlier frame of its
// session is done, so order per session is exact. Actions are published through a per-session
// chain; a message is acked only after the work it caused is published.
import type { JsMsg } from '@nats-io/jetstream';
import type { Bus } from '../../lib/nats/bus.ts';
import { decodeJson, publishDurable, publishJson } from '../../lib/nats/publish.ts';
import type { Logger } from '../../lib/logger.ts';
import { metrics } from '../../lib/metrics.ts';
import { errorMessage } from '../../lib/errors.ts';
import { HEADER, validators, type OutboxEvent, type SttJob } from '../../schemas/index.ts';
import { SessionVad, BUS_RATE, type VadAction } from './session-vad.ts';
import type { VadEngine } from './silero-engine.ts';

const UTTERANCE_CHUNK_BYTES = 256 * 1024;

interface SessionSlot {
  vad: SessionVad;
  inbox: JsMsg[];
  chain: Promise<void>;
}

export interface VadProcessorOptions {
  readonly bus: Bus;
  readonly engine: VadEngine;
  readonly log: Logger;
  readonly maxBufferMs: number;
  readonly maxUtteranceMs: number;
}

export class VadProcessor {
  private readonly sessions = new Map<string, SessionSlot>();
  private running: Promise<void> | undefined;
  private idleTimer: NodeJS.Timeout;

  constructor(private readonly o: VadProcessorOptions) {
    // Sessions that went quiet without a close (their gateway died) are forgotten after a while.
    this.idleTimer = setInterval(() => this.evictIdle(10 * 60_000), 60_000);
    this.idleTimer.unref();
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  enqueue(msg: JsMsg): void {
    const sid = msg.headers?.get(HEADER.session) ?? '';
    const gw = msg.headers?.get(HEADER.gateway) ?? '';
    if (!sid || !gw) {
      this.o.log.warn({ subject: msg.subject }, 'audio message without session or gateway header, dropped');
      msg.term();
      return;
    }
    let slot = this.sessions.get(sid);
    if (!slot) {
      slot = {
        vad: new SessionVad(sid, gw, this.o.engine, { maxBufferMs: this.o.maxBufferMs, maxUtteranceMs: this.o.maxUtteranceMs }),
        inbox: [],
        chain: Promise.resolve(),
      };
      this.sessions.set(sid, slot);
      metrics.vadSessions.set(this.sessions.size);
    }
    slot.vad.gatewayId = gw; // a reconnect may move the session to another gateway
    slot.inbox.push(msg);
    this.running ??= this.drain().finally(() => (this.running = undefined));
  }

  /** Drop state of sessions in a partition we no longer own (their messages will be redelivered). */
  forgetPartition(belongs: (sessionId: string) => boolean): void {
    for (const [sid, slot] of this.sessions) {
      if (!belongs(sid)) continue;
      for (const m of slot.inbox) m.nak();
      this.sessions.delete(sid);
    }
    metrics.vadSessions.set(this.sessions.size);
  }

  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  close(): void {
    clearInterval(this.idleTimer);
  }

  private async drain(): Promise<void> {
    for (;;) {
      const batch: Array<{ slot: SessionSlot; frame: SessionVad['frames'][number] }> = [];
      for (const slot of this.sessions.values()) {
        this.admit(slot);
        const frame = slot.vad.frames[0];
        if (frame) batch.push({ slot, frame });
      }
      if (batch.length === 0) return;
      const started = performance.now();
      let probs: Float32Array;
      try {
        probs = await this.o.engine.inferBatch(batch.map((b) => ({ state: b.slot.vad.vadState, frame: b.frame.frame })));
      } catch (err) {
        // An inference failure must not wedge every session: treat the frames as silence.
        this.o.log.error({ err: errorMessage(err), batch: batch.length }, 'vad inference failed');
        probs = new Float32Array(batch.length);
      }
      metrics.vadInferenceSeconds.observe((performance.now() - started) / 1000);
      metrics.vadBatchSize.observe(batch.length);
      batch.forEach(({ slot, frame }, i) => {
        slot.vad.frames.shift();
        this.run(slot, slot.vad.applyProbability(probs[i]!, frame));
        frame.done();
      });
    }
  }

  /** Move messages from the inbox into the session while no frame of an earlier message waits. */
  private admit(slot: SessionSlot): void {
    while (slot.vad.frames.length === 0 && slot.inbox.length > 0) {
      const msg = slot.inbox.shift()!;
      const kind = msg.headers?.get(HEADER.kind);
      if (kind === 'audio') {
        const offset = Number(msg.headers?.get(HEADER.offset) ?? NaN);
        if (!Number.isFinite(offset) || msg.data.length % 2 !== 0) {
          this.o.log.warn({ session: slot.vad.sessionId }, 'malformed audio frame, dropped');
          msg.term();
          continue;
        }
        const sentAt = Number(msg.headers?.get(HEADER.sentAt) ?? 0);
        slot.vad.appendAudio(msg.data, offset, () => {
          if (sentAt) metrics.vadLagSeconds.observe(Math.max(0, Date.now() - sentAt) / 1000);
          this.ackAfter(slot, msg);
        });
      } else if (kind === 'control') {
        this.applyControl(slot, msg);
      } else {
        msg.term();
      }
    }
  }

  private applyControl(slot: SessionSlot, msg: JsMsg): void {
    let parsed: unknown;
    try {
      parsed = decodeJson(msg.data);
    } catch {
      parsed = undefined;
    }
    const ctl = validators.inputControl.validate(parsed);
    if (!ctl.ok) {
      this.o.log.warn({ session: slot.vad.sessionId, err: ctl.error.message }, 'invalid input control, dropped');
      msg.term();
      return;
    }
    this.run(slot, slot.vad.applyControl(ctl.value));
    if (ctl.value.op === 'close') {
      const sid = slot.vad.sessionId;
      slot.chain = slot.chain.then(() => {
        if (this.sessions.get(sid) === slot && slot.inbox.length === 0) this.sessions.delete(sid);
        metrics.vadSessions.set(this.sessions.size);
      });
    }
    this.ackAfter(slot, msg);
  }

  private ackAfter(slot: SessionSlot, msg: JsMsg): void {
    slot.chain = slot.chain.then(() => msg.ack());
  }

  private run(slot: SessionSlot, actions: VadAction[]): void {
    for (const action of actions) {
      slot.chain = slot.chain.then(() => this.execute(slot.vad, action)).catch((err: unknown) => {
        this.o.log.error({ session: slot.vad.sessionId, err: errorMessage(err) }, 'vad action failed');
      });
    }
  }

  private async execute(vad: SessionVad, action: VadAction): Promise<void> {
    const { bus } = this.o;
    if (action.type === 'event') {
      await this.emit(vad, action.event, `${vad.sessionId}:${action.event.kind}:${'itemId' in action.event ? action.event.itemId : Date.now()}`);
      return;
    }
    const { itemId, audio } = action;
    const chunks = Math.ceil(audio.length / UTTERANCE_CHUNK_BYTES);
    await Promise.all(
      Array.from({ length: chunks }, (_, n) =>
        publishDurable(bus, bus.cat.subjects.utteranceChunk(vad.sessionId, itemId, n), audio.subarray(n * UTTERANCE_CHUNK_BYTES, (n + 1) * UTTERANCE_CHUNK_BYTES), {
          msgId: `utt:${itemId}:${n}`,
          kind: 'audio',
        }),
      ),
    );
    const job: SttJob = {
      sessionId: vad.sessionId,
      gatewayId: vad.gatewayId,
      tenantId: vad.tenantId,
      itemId,
      samples: audio.length / 2,
      sampleRate: BUS_RATE,
      chunks,
      transcription: vad.transcription,
      committedAt: Date.now(),
    };
    await publishJson(bus, bus.cat.subjects.sttJob(vad.sessionId), job, { msgId: `stt:${itemId}` });
    await this.emit(
      vad,
      {
        kind: 'input.committed',
        itemId,
        audioStartMs: action.audioStartMs,
        audioEndMs: action.audioEndMs,
        samples: audio.length / 2,
        chunks,
        clientEventId: action.clientEventId,
        source: action.source,
      },
      `${vad.sessionId}:committed:${itemId}`,
    );
  }

  private emit(vad: SessionVad, event: OutboxEvent, msgId: string): Promise<unknown> {
    return publishJson(this.o.bus, this.o.bus.cat.subjects.outbox(vad.gatewayId, vad.sessionId), event, {
      msgId,
      headers: { [HEADER.session]: vad.sessionId },
    });
  }

  private evictIdle(maxIdleMs: number): void {
    const now = Date.now();
    for (const [sid, slot] of this.sessions) {
      if (slot.inbox.length === 0 && slot.vad.frames.length === 0 && now - slot.vad.lastActivity > maxIdleMs) this.sessions.delete(sid);
    }
    metrics.vadSessions.set(this.sessions.size);
  }
}
