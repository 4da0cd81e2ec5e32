// The gateway's consumer of the outbox (filter `<p>.out.<gateway>.*`): every stage event for every
// session this gateway owns arrives here in stream order and is routed to its session — one
// consumer per gateway, not one per session. It is an ordered consumer: the client checks stream
// sequences and recreates it from the next one after any gap or stall (a NATS leader moving, a
// reconnect), so nothing is skipped; events older than this gateway's start are never replayed.
import { DeliverPolicy, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import type { Bus } from '../lib/nats/bus.ts';
import { decodeJson } from '../lib/nats/publish.ts';
import { STREAMING_PULL, stopWhenGone } from '../lib/nats/pull-options.ts';
import type { Logger } from '../lib/logger.ts';
import { errorMessage } from '../lib/errors.ts';
import { observeBusDelivery } from '../lib/metrics.ts';
import { PROBE_SESSION, startConsumerProbe, type ConsumerProbe } from '../lib/nats/consumer-probe.ts';
import { HEADER, validators } from '../schemas/index.ts';
import { handleOutboxEvent, handleTtsAudio } from './outbox-events.ts';
import type { RealtimeSession } from './session.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class OutboxConsumer {
  private messages: ConsumerMessages | undefined;
  private stopped = false;
  private running: Promise<void> | undefined;
  private healthy = false;
  private lastSeq = 0;
  private probe: ConsumerProbe | undefined;

  constructor(
    private readonly bus: Bus,
    private readonly gatewayId: string,
    private readonly sessions: ReadonlyMap<string, RealtimeSession>,
    private readonly log: Logger,
  ) {}

  get ready(): boolean {
    return this.healthy;
  }

  async start(): Promise<void> {
    await this.open();
    this.running = this.loop();
    this.probe = startConsumerProbe({
      bus: this.bus,
      subject: this.bus.cat.subjects.outbox(this.gatewayId, PROBE_SESSION),
      // A silent consumer holds back every session of this gateway, and a rebuild during a NATS
      // leader election can come back silent again: each round costs staleMs (cluster test: the
      // first event after a meta-leader crash came 6.5, 12.3 and 23.2 s later at 2 s / 6 s). A rebuild
      // is cheap (an ordered consumer from the last sequence seen), so the outbox is probed tighter
      // than the VAD partitions, whose rebuild replays audio.
      everyMs: 1_000,
      staleMs: 3_000,
      verifyMs: 1_500,
      onStall: () => {
        this.log.warn({ lastSeq: this.lastSeq }, 'outbox consumer delivers nothing (probe lost), rebuilding');
        this.messages?.stop();
      },
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.probe?.stop();
    this.messages?.stop();
    await this.running;
  }

  /** New events only at first; after a failure, everything after the last one we saw. */
  private async open(): Promise<void> {
    const consumer = await this.bus.js.consumers.get(this.bus.cat.streams.outbox, {
      filter_subjects: this.bus.cat.subjects.outboxGateway(this.gatewayId),
      ...(this.lastSeq ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: this.lastSeq + 1 } : { deliver_policy: DeliverPolicy.New }),
    });
    this.messages = await consumer.consume(STREAMING_PULL);
    // stop() may have run while this consumer was being created (a rebuild at shutdown): it could
    // not stop what did not exist yet, and the loop would then wait on it for ever.
    if (this.stopped) this.messages.stop();
    this.healthy = true;
    // The client recreates an ordered consumer after a gap, but when the stream's leader dies the
    // recreation can fail quietly and the iterator just waits: missed heartbeats end it, and the
    // loop rebuilds from the last sequence seen.
    void stopWhenGone(this.messages, (status) => this.log.warn({ status, lastSeq: this.lastSeq }, 'outbox consumer stalled, rebuilding'));
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      try {
        if (!this.messages) {
          await this.open();
          this.probe?.rebuilt();
        }
        for await (const m of this.messages!) {
          const { streamSequence, timestampNanos } = m.info;
          this.lastSeq = streamSequence;
          observeBusDelivery('outbox', timestampNanos);
          this.route(m);
        }
      } catch (err) {
        if (this.stopped) break;
        this.log.warn({ err: errorMessage(err) }, 'outbox consumer failed, rebuilding');
      }
      this.messages = undefined;
      this.healthy = false;
      if (!this.stopped) await sleep(250);
    }
  }

  private route(m: JsMsg): void {
    if (m.headers?.get(HEADER.kind) === 'probe') {
      this.probe?.seen();
      return;
    }
    const sid = this.bus.cat.subjects.sessionOf(m.subject);
    const session = this.sessions.get(sid);
    if (!session || session.closed) return;
    session.corked(() => this.deliver(session, m));
  }

  private deliver(session: RealtimeSession, m: JsMsg): void {
    try {
      const h = m.headers;
      if (h && h.get(HEADER.kind) === 'tts.audio') {
        handleTtsAudio(session, h.get(HEADER.response), Number(h.get(HEADER.sentence)), Number(h.get(HEADER.chunk)), m.data);
        return;
      }
      const checked = validators.outboxEvent.validate(decodeJson(m.data));
      if (!checked.ok) {
        session.log.warn({ err: checked.error.message }, 'invalid outbox event dropped');
        return;
      }
      handleOutboxEvent(session, checked.value);
    } catch (err) {
      session.log.error({ err: errorMessage(err) }, 'outbox event handling failed');
    }
  }
}
