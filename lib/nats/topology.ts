// Creates or updates every stream, consumer and KV bucket from the catalogue's definitions.
// Idempotent and safe to run from every process at start (2.9 treats consumer add as upsert).
import { AckPolicy, DeliverPolicy, DiscardPolicy, RetentionPolicy, StorageType, type ConsumerConfig, type StreamConfig } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import {
  bucketDefinitions,
  consumerDefinitions,
  streamDefinitions,
  type BucketDefinition,
  type BucketRole,
  type ConsumerDefinition,
  type StreamDefinition,
  type TopologyOptions,
} from '../../subjects/index.ts';
import type { Bus } from './bus.ts';
import { TransportError, errorMessage } from '../errors.ts';
import type { Logger } from '../logger.ts';

const nanos = (ms: number) => ms * 1_000_000;

function toStreamConfig(d: StreamDefinition): Partial<StreamConfig> & { name: string } {
  return {
    name: d.name,
    description: d.description,
    subjects: [...d.subjects],
    storage: d.storage === 'memory' ? StorageType.Memory : StorageType.File,
    retention: d.retention === 'workqueue' ? RetentionPolicy.Workqueue : RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_age: nanos(d.maxAgeMs),
    max_bytes: d.maxBytes,
    max_msg_size: d.maxMsgSize,
    max_msgs_per_subject: d.maxMsgsPerSubject,
    duplicate_window: nanos(d.duplicateWindowMs),
    num_replicas: d.replicas,
    allow_direct: d.allowDirect,
  };
}

export function toConsumerConfig(d: ConsumerDefinition): Partial<ConsumerConfig> & { durable_name: string } {
  const c: Partial<ConsumerConfig> & { durable_name: string } = {
    durable_name: d.name,
    description: d.description,
    filter_subject: d.filterSubject,
    ack_policy: d.ack === 'none' ? AckPolicy.None : AckPolicy.Explicit,
    deliver_policy: d.deliver === 'new' ? DeliverPolicy.New : DeliverPolicy.All,
    mem_storage: d.memStorage,
  };
  if (d.replicas !== undefined) c.num_replicas = d.replicas;
  if (d.ack === 'explicit') {
    c.ack_wait = nanos(d.ackWaitMs);
    c.max_ack_pending = d.maxAckPending;
  }
  if (d.maxDeliver > 0) c.max_deliver = d.maxDeliver;
  if (d.inactiveThresholdMs !== undefined) c.inactive_threshold = nanos(d.inactiveThresholdMs);
  return c;
}

async function ensureStream(bus: Bus, d: StreamDefinition, log: Logger | undefined): Promise<void> {
  try {
    await upsertStream(bus, d, log);
  } catch (err) {
    throw new TransportError(`cannot create or update stream ${d.name} (max_bytes ${d.maxBytes}, ${d.storage}): ${errorMessage(err)}`, err);
  }
}

async function upsertStream(bus: Bus, d: StreamDefinition, log: Logger | undefined): Promise<void> {
  const cfg = toStreamConfig(d);
  const existing = await bus.jsm.streams.info(d.name).catch((err: unknown) => {
    if (err instanceof Error && /stream not found/i.test(err.message)) return undefined;
    throw err;
  });
  if (!existing) {
    await bus.jsm.streams.add(cfg);
    return;
  }
  // Storage and retention cannot change in place; everything else we keep in step. A stream made
  // otherwise (by hand, or by a release whose definition differed) keeps working as it is: say so,
  // and how to apply the definition.
  if (existing.config.storage !== cfg.storage) {
    log?.warn(
      { stream: d.name, storage: existing.config.storage, defined: cfg.storage },
      `stream ${d.name} keeps its ${existing.config.storage} storage (defined: ${cfg.storage}); to apply it, delete the stream while nothing is queued (nats stream rm ${d.name}) and restart one Parley process`,
    );
  }
  const { storage: _s, retention: _r, ...mutable } = cfg;
  await bus.jsm.streams.update(d.name, mutable);
}

export async function ensureConsumer(bus: Bus, d: ConsumerDefinition): Promise<void> {
  await bus.jsm.consumers.add(d.stream, toConsumerConfig(d));
}

/** The definition of one consumer, by role (and partition for the VAD's). */
export function consumerDefinition(bus: Bus, opts: TopologyOptions, role: ConsumerDefinition['role'], partition?: number): ConsumerDefinition {
  const name = role === 'vad' ? bus.cat.consumers.vadPartition(partition ?? 0) : undefined;
  const d = consumerDefinitions(bus.cat, opts).find((c) => c.role === role && (name === undefined || c.name === name));
  if (!d) throw new Error(`no consumer definition for ${role}${partition === undefined ? '' : ` ${partition}`}`);
  return d;
}

/**
 * Make sure a replicas-1 consumer exists: after the node holding it died it is gone, and is made
 * again — from `startSeq` when given (a VAD partition's checkpoint), else from its definition.
 * Returns true when it had to be created.
 */
export async function restoreConsumer(bus: Bus, d: ConsumerDefinition, startSeq?: number): Promise<boolean> {
  try {
    await bus.jsm.consumers.info(d.stream, d.name);
    return false;
  } catch (err) {
    if (!/consumer not found/i.test(errorMessage(err))) throw err;
  }
  const cfg = toConsumerConfig(d);
  if (startSeq !== undefined) {
    cfg.deliver_policy = DeliverPolicy.StartSequence;
    cfg.opt_start_seq = startSeq;
  }
  await bus.jsm.consumers.add(d.stream, cfg);
  return true;
}

export async function openBucket(bus: Bus, d: BucketDefinition): Promise<KV> {
  return bus.kvm.create(d.name, {
    description: d.description,
    ttl: d.ttlMs,
    storage: d.storage === 'memory' ? StorageType.Memory : StorageType.File,
    replicas: d.replicas,
    history: d.history,
  });
}

export type Buckets = Record<BucketRole, KV>;

export async function ensureTopology(bus: Bus, opts: TopologyOptions, log?: Logger): Promise<Buckets> {
  await Promise.all(streamDefinitions(bus.cat, opts).map((d) => ensureStream(bus, d, log)));
  const consumers = consumerDefinitions(bus.cat, opts);
  // The JetStream API on 2.9 has no request queue limit; keep the burst of creates modest.
  for (let i = 0; i < consumers.length; i += 16) {
    await Promise.all(consumers.slice(i, i + 16).map((d) => ensureConsumer(bus, d)));
  }
  const buckets = await Promise.all(bucketDefinitions(bus.cat, opts).map(async (d) => [d.role, await openBucket(bus, d)] as const));
  return Object.fromEntries(buckets) as Buckets;
}

export function topologyOptionsFrom(cfg: {
  nats: { replicas: number; audioMaxAgeMs: number; audioMaxBytes: number; outboxMaxAgeMs: number; conversationMaxAgeMs: number; jobMaxDeliver: number };
  gateway: { sessionMaxMs: number; ephemeralKeyTtlMs: number };
}): TopologyOptions {
  return {
    replicas: cfg.nats.replicas,
    audioMaxAgeMs: cfg.nats.audioMaxAgeMs,
    audioMaxBytes: cfg.nats.audioMaxBytes,
    outboxMaxAgeMs: cfg.nats.outboxMaxAgeMs,
    conversationMaxAgeMs: cfg.nats.conversationMaxAgeMs,
    jobMaxDeliver: cfg.nats.jobMaxDeliver,
    sessionTtlMs: cfg.gateway.sessionMaxMs + 10 * 60_000,
    leaseTtlMs: 6_000,
    heartbeatTtlMs: 30_000,
    ephemeralKeyTtlMs: Math.max(cfg.gateway.ephemeralKeyTtlMs, 7_200_000),
  };
}
