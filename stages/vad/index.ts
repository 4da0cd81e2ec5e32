// vadStage: holds leases on audio partitions, consumes each owned partition's durable consumer in
// order, and feeds one batched Silero processor. Every second it checkpoints, per partition, the
// oldest audio it still needs; a worker that takes a partition over (its owner died, or gave it
// up in a rebalance) first replays the stream from that checkpoint to rebuild the sessions' buffers
// and turn state, then continues with the durable consumer — no frame is lost, and duplicates are
// dropped by per-session sequence numbers. Public door of stages/vad.
import type { ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import { DeliverPolicy } from '@nats-io/jetstream';
import { PartitionLeases } from '../../lib/nats/partition-leases.ts';
import { STREAMING_PULL, stopWhenGone } from '../../lib/nats/pull-options.ts';
import { consumerDefinition, restoreConsumer, topologyOptionsFrom } from '../../lib/nats/topology.ts';
import { metrics } from '../../lib/metrics.ts';
import { errorMessage } from '../../lib/errors.ts';
import { SessionStore } from '../../lib/session-store.ts';
import type { Stage, StageDeps } from '../../lib/stage.ts';
import { HEADER, readAudioHeaders, validators, type AudioHeaders } from '../../schemas/index.ts';
import { PROBE_SESSION, startConsumerProbe, type ConsumerProbe } from '../../lib/nats/consumer-probe.ts';
import { createSileroEngine, type VadEngine } from './silero-engine.ts';
import { VadProcessor, type AudioMessage } from './processor.ts';

export { createSileroEngine, type VadEngine } from './silero-engine.ts';
export { TurnDetector, detectorParams } from './turn-detector.ts';

const CHECKPOINT_EVERY_MS = 1_000;
const REPLAY_IDLE_MS = 300;

interface PartitionRun {
  stopped: boolean;
  messages: ConsumerMessages | undefined;
  loop: Promise<void>;
  probe: ConsumerProbe | undefined;
}

/** A message of the durable consumer (a class: no closures per message, thousands a second). */
class LiveMessage implements AudioMessage {
  readonly streamSeq: number;
  readonly subject: string;
  readonly meta: AudioHeaders;
  readonly data: Uint8Array;
  constructor(private readonly m: JsMsg) {
    this.streamSeq = m.seq;
    this.subject = m.subject;
    this.meta = readAudioHeaders(m.headers);
    this.data = m.data;
  }
  ack(): void {
    this.m.ack();
  }
  term(): void {
    this.m.term();
  }
}

export async function startVadStage(deps: StageDeps, engineOverride?: VadEngine): Promise<Stage> {
  const { bus, config, log, buckets } = deps;
  const topology = topologyOptionsFrom(config);
  const engine = engineOverride ?? (await createSileroEngine({ modelPath: config.vad.modelPath, maxBatch: config.vad.maxBatch, sampleRate: config.vad.sampleRate }));
  if (engine.graphNote) log.warn({ engine: engine.name, note: engine.graphNote }, 'vad engine runs the model graph as shipped (slower in batches)');
  const processor = new VadProcessor({
    bus,
    engine,
    log,
    sessions: new SessionStore(buckets.sessions),
    maxBufferMs: config.gateway.inputBufferMaxMs,
    maxUtteranceMs: config.vad.maxUtteranceMs,
    silenceFloorDbfs: config.vad.silenceFloorDbfs,
    batchWindowMs: config.vad.batchWindowMs,
    batchAboveBusy: config.vad.batchAboveBusy,
  });
  const running = new Map<number, PartitionRun>();
  processor.onProbe = (p) => running.get(p)?.probe?.seen();
  const written = new Map<number, number>();
  let ready = false;

  async function checkpointOf(p: number): Promise<number | undefined> {
    const entry = await buckets.checkpoints.get(`vad.${p}`);
    const cp = entry?.operation === 'PUT' ? entry.json<unknown>() : undefined;
    return validators.vadCheckpoint.check(cp) ? cp.seq : undefined;
  }

  /** Replay [checkpoint, last delivered] of a partition through the processor (no acks). */
  async function replay(p: number): Promise<number> {
    const fromCheckpoint = await checkpointOf(p);
    // A replicas-1 partition consumer dies with its node: it is made again at the checkpoint.
    if (await restoreConsumer(bus, consumerDefinition(bus, topology, 'vad', p), fromCheckpoint)) log.warn({ partition: p, from: fromCheckpoint }, 'vad partition consumer re-created');
    const durable = await bus.js.consumers.get(bus.cat.streams.audio, bus.cat.consumers.vadPartition(p));
    const info = await durable.info(true);
    const delivered = info.delivered.stream_seq;
    const from = Math.min(fromCheckpoint ?? info.ack_floor.stream_seq + 1, info.ack_floor.stream_seq + 1);
    log.debug({ partition: p, from, delivered, ackFloor: info.ack_floor.stream_seq, checkpoint: fromCheckpoint, pending: info.num_ack_pending }, 'vad replay range');
    if (from > delivered) return 0;
    const ordered = await bus.js.consumers.get(bus.cat.streams.audio, {
      filter_subjects: bus.cat.subjects.audioPartition(p),
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: from,
    });
    // Stream the range; stop at the last delivered message, or when nothing more arrives (a message
    // in the range may have aged out), so a takeover never waits on a pull's expiry.
    const messages = await ordered.consume({ max_messages: 1_000 });
    const iter = messages[Symbol.asyncIterator]();
    let n = 0;
    try {
      for (;;) {
        let timer: NodeJS.Timeout | undefined;
        const idle = new Promise<null>((r) => (timer = setTimeout(() => r(null), REPLAY_IDLE_MS)));
        const next = await Promise.race([iter.next(), idle]);
        clearTimeout(timer);
        if (!next || next.done) break;
        const m = next.value;
        if (m.seq > delivered) break;
        processor.enqueue({ streamSeq: m.seq, subject: m.subject, meta: readAudioHeaders(m.headers), data: m.data, ack: () => undefined, term: () => undefined });
        n++;
        if (m.seq >= delivered) break;
      }
    } finally {
      messages.stop();
    }
    return n;
  }

  /**
   * Run one owned partition: replay from the checkpoint, then consume the durable consumer. If the
   * consumer goes quiet without an error (its leader moved and the pull was lost) or disappears, it
   * is rebuilt — and the replay runs again, so nothing delivered into the void is skipped
   * (duplicates are dropped by per-session sequence numbers).
   */
  async function startPartition(p: number, takenOver: boolean): Promise<void> {
    const ctl: PartitionRun = { stopped: false, messages: undefined, loop: Promise.resolve(), probe: undefined };
    const firstStart = new Promise<void>((resolveFirst) => {
      ctl.loop = (async () => {
        for (let round = 0; !ctl.stopped; round++) {
          const started = performance.now();
          try {
            const replayed = await replay(p);
            const consumer = await bus.js.consumers.get(bus.cat.streams.audio, bus.cat.consumers.vadPartition(p));
            const messages = await consumer.consume(STREAMING_PULL);
            ctl.messages = messages;
            if (ctl.stopped) messages.stop(); // released while the consumer was being created
            void stopWhenGone(messages, (status) => log.warn({ partition: p, status }, 'partition consumer stalled'));
            if (round === 0) log.info({ partition: p, takenOver, replayed, ms: Math.round(performance.now() - started) }, 'vad partition acquired');
            else {
              log.warn({ partition: p, replayed }, 'vad partition consumer rebuilt');
              ctl.probe?.rebuilt();
            }
            resolveFirst();
            for await (const m of messages) processor.enqueue(new LiveMessage(m));
          } catch (err) {
            log.warn({ partition: p, err: errorMessage(err) }, 'partition consumer failed, rebuilding');
          }
          if (!ctl.stopped) await new Promise((r) => setTimeout(r, 500));
        }
        resolveFirst();
      })();
    });
    running.set(p, ctl);
    metrics.partitionsOwned.set({ stage: 'vad' }, running.size);
    await firstStart;
    ctl.probe = startConsumerProbe({
      bus,
      subject: bus.cat.subjects.audio(p, PROBE_SESSION),
      everyMs: 2_000,
      staleMs: 6_000,
      verifyMs: 2_000,
      headers: { [HEADER.gateway]: config.instanceId },
      onStall: () => {
        log.warn({ partition: p }, 'partition consumer delivers nothing (probe lost), rebuilding');
        ctl.messages?.stop();
      },
    });
  }

  async function stopPartition(p: number): Promise<void> {
    const r = running.get(p);
    if (!r) return;
    running.delete(p);
    r.stopped = true;
    r.probe?.stop();
    r.messages?.stop();
    await r.loop;
    await processor.idle();
    await writeCheckpoint(p).catch((err: unknown) => log.warn({ partition: p, err: errorMessage(err) }, 'final checkpoint failed'));
    processor.forgetPartition(p);
    written.delete(p);
    metrics.partitionsOwned.set({ stage: 'vad' }, running.size);
    log.info({ partition: p }, 'vad partition released');
  }

  async function writeCheckpoint(p: number): Promise<void> {
    const seq = processor.checkpoint(p);
    if (seq === undefined || written.get(p) === seq) return;
    await buckets.checkpoints.put(`vad.${p}`, JSON.stringify({ seq, at: Date.now(), holder: config.instanceId }));
    written.set(p, seq);
  }

  const leases = new PartitionLeases({
    kv: buckets.leases,
    stage: 'vad',
    partitions: bus.cat.partitions,
    holderId: config.instanceId,
    renewEveryMs: 2_000,
    ttlMs: topology.leaseTtlMs,
    log,
    onAcquire: startPartition,
    onRelease: stopPartition,
  });
  await leases.start();
  const checkpoints = setInterval(() => {
    for (const p of running.keys()) writeCheckpoint(p).catch((err: unknown) => log.warn({ partition: p, err: errorMessage(err) }, 'checkpoint failed'));
  }, CHECKPOINT_EVERY_MS);
  ready = true;
  log.info({ engine: engine.name, partitions: leases.ownedPartitions().length }, 'vad stage started');

  return {
    name: 'vad',
    ready: () => ready,
    async stop() {
      ready = false;
      clearInterval(checkpoints);
      await leases.stop();
      await processor.idle();
      processor.close();
      await engine.close();
    },
  };
}
