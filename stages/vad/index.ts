// vadStage: holds leases on audio partitions, consumes each owned partition's durable consumer in
// order, and feeds one batched Silero processor. Public door of stages/vad.
import type { ConsumerMessages } from '@nats-io/jetstream';
import { PartitionLeases } from '../../lib/nats/partition-leases.ts';
import { metrics } from '../../lib/metrics.ts';
import { errorMessage } from '../../lib/errors.ts';
import type { Stage, StageDeps } from '../../lib/stage.ts';
import { partitionOf } from '../../subjects/index.ts';
import { createSileroEngine, type VadEngine } from './silero-engine.ts';
import { VadProcessor } from './processor.ts';

export { createSileroEngine, type VadEngine } from './silero-engine.ts';
export { TurnDetector, detectorParams } from './turn-detector.ts';

const ACK_WAIT_MS = 10_000;

export async function startVadStage(deps: StageDeps, engineOverride?: VadEngine): Promise<Stage> {
  const { bus, config, log } = deps;
  const engine = engineOverride ?? (await createSileroEngine({ modelPath: config.vad.modelPath, maxBatch: config.vad.maxBatch }));
  const processor = new VadProcessor({
    bus,
    engine,
    log,
    maxBufferMs: config.gateway.inputBufferMaxMs,
    maxUtteranceMs: config.vad.maxUtteranceMs,
  });
  const running = new Map<number, { messages: ConsumerMessages; loop: Promise<void> }>();
  let ready = false;

  async function startPartition(p: number, takenOver: boolean): Promise<void> {
    const consumer = await bus.js.consumers.get(bus.cat.streams.audio, bus.cat.consumers.vadPartition(p));
    if (takenOver) {
      // Frames delivered to a dead owner come back after ack_wait; pulling earlier would let new
      // frames overtake them and break per-session order.
      const info = await consumer.info(true);
      if (info.num_ack_pending > 0) {
        log.info({ partition: p, pending: info.num_ack_pending }, 'waiting for redelivery before taking over partition');
        await new Promise((r) => setTimeout(r, ACK_WAIT_MS + 250));
      }
    }
    const messages = await consumer.consume({ max_messages: 2_000 });
    const loop = (async () => {
      try {
        for await (const m of messages) processor.enqueue(m);
      } catch (err) {
        log.warn({ partition: p, err: errorMessage(err) }, 'partition consumer ended');
      }
    })();
    running.set(p, { messages, loop });
    metrics.partitionsOwned.set({ stage: 'vad' }, running.size);
    log.info({ partition: p, takenOver }, 'vad partition acquired');
  }

  async function stopPartition(p: number): Promise<void> {
    const r = running.get(p);
    if (!r) return;
    running.delete(p);
    await r.messages.close().catch(() => undefined);
    await r.loop;
    await processor.idle();
    processor.forgetPartition((sid) => partitionOf(sid, bus.cat.partitions) === p);
    metrics.partitionsOwned.set({ stage: 'vad' }, running.size);
    log.info({ partition: p }, 'vad partition released');
  }

  const leases = new PartitionLeases({
    kv: deps.buckets.leases,
    stage: 'vad',
    partitions: bus.cat.partitions,
    holderId: config.instanceId,
    renewEveryMs: 2_000,
    log,
    onAcquire: startPartition,
    onRelease: stopPartition,
  });
  await leases.start();
  ready = true;
  log.info({ engine: engine.name, partitions: leases.ownedPartitions().length }, 'vad stage started');

  return {
    name: 'vad',
    ready: () => ready,
    async stop() {
      ready = false;
      await leases.stop();
      await processor.idle();
      processor.close();
      await engine.close();
    },
  };
}
