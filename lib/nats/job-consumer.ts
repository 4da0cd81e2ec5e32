// The worker loop every job stage (STT, LLM, TTS) shares: `concurrency` pullers on one durable
// consumer, each holding at most one message, so in-flight work per worker is bounded and
// JetStream spreads jobs across workers. Per job: validate -> handle (with an AbortSignal and
// in-progress acks so long jobs are not redelivered) -> ack. Retryable failures are nak'ed with
// backoff; after the last delivery, or for a message that can never succeed, the job is parked in
// the dead-letter stream, the owner is told through `onDead`, and the message is terminated.
import type { JsMsg } from '@nats-io/jetstream';
import type { Bus } from './bus.ts';
import { attachmentOffset, decodeJsonMessage, publishJson } from './publish.ts';
import type { DeadLetter, Validator } from '../../schemas/index.ts';
import { CancelledError, ParleyError, errorMessage, isAbortError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { metrics, observeBusDelivery } from '../metrics.ts';
import { ATTR, extractTrace, inSpan } from '../tracing.ts';

export interface JobContext {
  readonly signal: AbortSignal;
  readonly deliveryCount: number;
  readonly lastAttempt: boolean;
  readonly log: Logger;
  /** Bytes that came after the job's JSON (see publishJson). */
  readonly attachment: Uint8Array | undefined;
}

export interface JobConsumerOptions<T> {
  readonly bus: Bus;
  readonly stage: 'stt' | 'llm' | 'tts';
  readonly stream: string;
  readonly consumer: string;
  readonly concurrency: number;
  readonly ackWaitMs: number;
  readonly maxDeliver: number;
  readonly validator: Validator<T>;
  readonly log: Logger;
  readonly handle: (job: T, ctx: JobContext) => Promise<void>;
  /** Tell the session's owner that this job will never complete. */
  readonly onDead?: (job: T, error: ParleyError) => Promise<void>;
  /** Span attributes for a job (session, response ids). */
  readonly describe?: (job: T) => Record<string, string | number>;
  /** Re-create the consumer if it is gone (a replicas-1 consumer whose node died). */
  readonly restore?: () => Promise<unknown>;
}

export interface RunningConsumer {
  readonly inflight: () => number;
  /** Let running jobs finish for `graceMs`, then cancel them; give up on any still running `abandonMs` later. */
  stop(graceMs?: number, abandonMs?: number): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether `p` settles within `ms` (the timer never outlives the answer). */
async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((r) => (timer = setTimeout(() => r(false), ms)));
  try {
    return await Promise.race([p.then(() => true as const), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

export function startJobConsumer<T>(o: JobConsumerOptions<T>): RunningConsumer {
  const stopping = new AbortController();
  const active = new Map<AbortController, Record<string, string | number>>(); // job -> what it is, for logs
  let inflight = 0;
  const handling = new Set<Promise<void>>();

  async function handleOne(msg: JsMsg): Promise<void> {
    const { deliveryCount, timestampNanos } = msg.info;
    observeBusDelivery(o.stage, timestampNanos);
    const lastAttempt = deliveryCount >= o.maxDeliver;
    let body: unknown;
    let attachment: Uint8Array | undefined;
    try {
      ({ body, attachment } = decodeJsonMessage(msg.data, msg.headers));
    } catch (err) {
      await park(msg, deliveryCount, 'invalid_json', errorMessage(err));
      return;
    }
    const checked = o.validator.validate(body);
    if (!checked.ok) {
      await park(msg, deliveryCount, 'invalid_job', `${checked.error.param ?? 'job'}: ${checked.error.message}`);
      return;
    }
    const job = checked.value;
    const jobAbort = new AbortController();
    active.set(jobAbort, o.describe?.(job) ?? {});
    // In-progress acks keep a long job (a slow LLM) from being redelivered to another worker.
    const heartbeat = setInterval(() => msg.working(), Math.max(1_000, Math.floor(o.ackWaitMs / 3)));
    const started = performance.now();
    inflight++;
    metrics.stageInflight.inc({ stage: o.stage });
    const attrs = { [ATTR.stage]: o.stage, [ATTR.delivery]: deliveryCount, ...(o.describe?.(job) ?? {}) };
    const log = o.log.child(o.describe?.(job) ?? {});
    try {
      await inSpan(`${o.stage}.job`, extractTrace(msg.headers), attrs, () => o.handle(job, { signal: jobAbort.signal, deliveryCount, lastAttempt, log, attachment }));
      msg.ack();
      metrics.stageJobs.inc({ stage: o.stage, outcome: 'ok' });
    } catch (err) {
      if (isAbortError(err) || err instanceof CancelledError) {
        msg.ack(); // nobody wants this work any more
        metrics.stageJobs.inc({ stage: o.stage, outcome: 'cancelled' });
      } else {
        const perr = err instanceof ParleyError ? err : new ParleyError('internal_error', errorMessage(err), { cause: err, retryable: true });
        if (perr.retryable && !lastAttempt && !stopping.signal.aborted) {
          msg.nak(Math.min(10_000, 250 * 2 ** (deliveryCount - 1)));
          metrics.stageJobs.inc({ stage: o.stage, outcome: 'retry' });
          log.warn({ err: perr.message, code: perr.code, deliveryCount }, 'job failed, will retry');
        } else if (stopping.signal.aborted) {
          msg.nak();
        } else {
          log.error({ err: perr.message, code: perr.code, deliveryCount }, 'job failed for good');
          await o.onDead?.(job, perr).catch((e: unknown) => log.error({ err: errorMessage(e) }, 'dead-job notification failed'));
          await park(msg, deliveryCount, perr.code, perr.message);
        }
      }
    } finally {
      clearInterval(heartbeat);
      active.delete(jobAbort);
      inflight--;
      metrics.stageInflight.dec({ stage: o.stage });
      metrics.stageJobSeconds.observe({ stage: o.stage }, (performance.now() - started) / 1000);
    }
  }

  async function park(msg: JsMsg, deliveries: number, code: string, message: string): Promise<void> {
    metrics.deadLetters.inc({ stage: o.stage });
    metrics.stageJobs.inc({ stage: o.stage, outcome: 'dead' });
    let attachmentAt: number | undefined;
    try {
      attachmentAt = attachmentOffset(msg.data, msg.headers);
    } catch {
      // a bad offset may be why the job is parked: the letter keeps the bytes as they came
    }
    const letter: DeadLetter = { stage: o.stage, subject: msg.subject, deliveries, error: { code, message }, body: Buffer.from(msg.data).toString('base64'), ...(attachmentAt === undefined ? {} : { attachmentAt }) };
    try {
      await publishJson(o.bus, o.bus.cat.subjects.deadLetter(o.stage), letter, { msgId: `dlq:${o.stage}:${msg.seq}`, retryForMs: 10_000 });
    } catch (err) {
      o.log.error({ err: errorMessage(err), subject: msg.subject }, 'could not park dead letter');
    }
    msg.term(message.slice(0, 200));
  }

  async function pullLoop(): Promise<void> {
    let failures = 0;
    while (!stopping.signal.aborted) {
      try {
        const consumer = await o.bus.js.consumers.get(o.stream, o.consumer);
        failures = 0;
        while (!stopping.signal.aborted) {
          const msg = await consumer.next({ expires: 5_000 });
          if (!msg) continue;
          if (stopping.signal.aborted) {
            msg.nak(); // arrived while stopping: hand it to another worker now
            break;
          }
          const job = handleOne(msg);
          handling.add(job);
          await job.finally(() => handling.delete(job));
        }
      } catch (err) {
        if (stopping.signal.aborted) break;
        failures++;
        if (failures === 1 || failures % 10 === 0) o.log.warn({ err: errorMessage(err), consumer: o.consumer, failures }, 'pull failed, rebuilding consumer handle');
        await sleep(Math.min(2_000, 100 * 2 ** Math.min(failures, 5)));
        await o.restore?.().catch(() => undefined);
      }
    }
  }

  // The pull loops end by themselves: on stop, or when the connection closes under a pending pull.
  for (let i = 0; i < o.concurrency; i++) void pullLoop();

  return {
    inflight: () => inflight,
    async stop(graceMs = 5_000, abandonMs = 5_000) {
      stopping.abort();
      // In-flight jobs get a grace period to finish, then are cancelled (and acked as cancelled).
      const all = Promise.allSettled([...handling]);
      if (await settlesWithin(all, graceMs)) return;
      o.log.warn({ jobs: [...active.values()] }, 'jobs still running after the stop grace period: cancelling them');
      for (const c of active.keys()) c.abort(new CancelledError('worker stopping'));
      if (await settlesWithin(all, abandonMs)) return;
      // A job that ignores its cancel must not hold the process up: it stays unacked, and JetStream
      // redelivers it to another worker once the connection is gone.
      o.log.error({ jobs: [...active.values()] }, 'jobs ignored their cancel: stopping without them');
    },
  };
}
