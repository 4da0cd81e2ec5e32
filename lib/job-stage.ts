// The shape every job stage (STT, LLM, TTS) shares: an engine, a job consumer, and — for work
// that belongs to a response — the cancellation broadcast, so a cancelled response's jobs are
// dropped before they start and aborted while they run. The stage file keeps only its own work.
import type { Stage, StageDeps } from './stage.ts';
import { CancelRegistry } from './nats/cancellations.ts';
import { startJobConsumer, type JobContext } from './nats/job-consumer.ts';
import { consumerDefinition, restoreConsumer, topologyOptionsFrom } from './nats/topology.ts';
import type { ParleyError } from './errors.ts';
import type { Validator } from '../schemas/index.ts';
import { JOB_ACK_WAIT_MS } from '../subjects/index.ts';

export interface JobStageOptions<T> {
  readonly deps: StageDeps;
  readonly stage: 'stt' | 'llm' | 'tts';
  readonly engine: { readonly name: string; close(): Promise<void> };
  readonly validator: Validator<T>;
  readonly concurrency: number;
  /** The response a job belongs to, when cancelling that response must stop the job. */
  readonly responseOf?: (job: T) => string;
  readonly describe: (job: T) => Record<string, string | number>;
  readonly handle: (job: T, ctx: JobContext) => Promise<void>;
  readonly onDead: (job: T, error: ParleyError) => Promise<void>;
}

export function startJobStage<T>(o: JobStageOptions<T>): Stage {
  const { bus, config, log } = o.deps;
  const cancels = o.responseOf ? new CancelRegistry(bus, o.stage) : undefined;
  cancels?.start();
  const consumer = startJobConsumer<T>({
    bus,
    stage: o.stage,
    stream: bus.cat.streams.jobs,
    consumer: bus.cat.consumers[o.stage],
    concurrency: o.concurrency,
    ackWaitMs: JOB_ACK_WAIT_MS[o.stage],
    maxDeliver: config.nats.jobMaxDeliver,
    validator: o.validator,
    log,
    describe: o.describe,
    onDead: o.onDead,
    restore: () => restoreConsumer(bus, consumerDefinition(bus, topologyOptionsFrom(config), o.stage)),
    async handle(job, ctx) {
      if (!cancels || !o.responseOf) return o.handle(job, ctx);
      const responseId = o.responseOf(job);
      if (cancels.isCancelled(responseId)) return; // acked: nobody wants it any more
      const tracked = cancels.track(responseId, ctx.signal);
      try {
        await o.handle(job, { ...ctx, signal: tracked.signal });
      } finally {
        tracked.release();
      }
    },
  });
  log.info({ engine: o.engine.name, concurrency: o.concurrency }, `${o.stage} stage started`);
  return {
    name: o.stage,
    ready: () => true,
    async stop() {
      await consumer.stop();
      cancels?.stop();
      await o.engine.close();
    },
  };
}
