// The gateway's single durable consumer on the outbox (filter `<p>.out.<gateway>.*`): every stage
// event for every session this gateway owns arrives here in stream order and is routed to its
// session. One consumer per gateway, not one per session, so millions of sessions cost nothing extra.
import type { ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import type { Bus } from '../lib/nats/bus.ts';
import { ensureConsumer } from '../lib/nats/topology.ts';
import { decodeJson } from '../lib/nats/publish.ts';
import type { Logger } from '../lib/logger.ts';
import { errorMessage } from '../lib/errors.ts';
import { gatewayConsumerDefinition } from '../subjects/index.ts';
import { HEADER, validators } from '../schemas/index.ts';
import { handleOutboxEvent, handleTtsAudio } from './outbox-events.ts';
import type { RealtimeSession } from './session.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class OutboxConsumer {
  private messages: ConsumerMessages | undefined;
  private stopped = false;
  private running: Promise<void> | undefined;
  private healthy = false;

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
    await ensureConsumer(this.bus, gatewayConsumerDefinition(this.bus.cat, this.gatewayId));
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.messages?.close().catch(() => undefined);
    await this.running;
    await this.bus.jsm.consumers.delete(this.bus.cat.streams.outbox, this.bus.cat.consumers.gateway(this.gatewayId)).catch(() => undefined);
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      try {
        // Re-assert the consumer: it may have been removed after a long disconnect (inactive_threshold).
        await ensureConsumer(this.bus, gatewayConsumerDefinition(this.bus.cat, this.gatewayId));
        const consumer = await this.bus.js.consumers.get(this.bus.cat.streams.outbox, this.bus.cat.consumers.gateway(this.gatewayId));
        this.messages = await consumer.consume({ max_messages: 1_000 });
        this.healthy = true;
        for await (const m of this.messages) this.route(m);
      } catch (err) {
        if (this.stopped) break;
        this.log.warn({ err: errorMessage(err) }, 'outbox consumer failed, rebuilding');
      }
      this.healthy = false;
      if (!this.stopped) await sleep(500);
    }
  }

  private route(m: JsMsg): void {
    const sid = m.headers?.get(HEADER.session) ?? m.subject.slice(m.subject.lastIndexOf('.') + 1);
    const session = this.sessions.get(sid);
    if (!session || session.closed) return;
    try {
      if (m.headers?.get(HEADER.kind) === 'tts.audio') {
        const h = m.headers;
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
