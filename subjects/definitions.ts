// Streams, consumers and KV buckets as data. `lib/nats/topology.ts` turns these into JetStream
// API calls; operators read the same descriptions in `nats stream ls` / `nats consumer ls`.
import type { Catalogue } from './index.ts';

export type StreamRole = 'audio' | 'utterances' | 'jobs' | 'conversation' | 'outbox' | 'deadLetters';

export interface StreamDefinition {
  readonly role: StreamRole;
  readonly name: string;
  readonly description: string;
  readonly subjects: readonly string[];
  readonly storage: 'file' | 'memory';
  readonly retention: 'limits' | 'workqueue';
  readonly maxAgeMs: number;
  readonly maxBytes: number;
  readonly maxMsgSize: number;
  readonly duplicateWindowMs: number;
  readonly replicas: number;
  readonly maxMsgsPerSubject: number;
  readonly allowDirect: boolean;
}

export type ConsumerRole = 'vad' | 'stt' | 'llm' | 'tts' | 'persist';

export interface ConsumerDefinition {
  readonly role: ConsumerRole;
  readonly stream: string;
  readonly name: string;
  readonly description: string;
  readonly filterSubject: string;
  readonly ack: 'explicit' | 'none';
  readonly ackWaitMs: number;
  readonly maxAckPending: number;
  readonly maxDeliver: number;
  readonly deliver: 'all' | 'new';
  readonly memStorage: boolean;
  /**
   * Undefined: the stream's replicas (every consumer today). A replicas-1 consumer skips the Raft
   * election after a crash, but on 2.9 it stays assigned to its dead node (API calls time out, the
   * name cannot be re-created) until that node returns — measured; so none is R1.
   */
  readonly replicas: 1 | undefined;
  /** Durable consumers of dead processes (gateways) are removed after this idle time. */
  readonly inactiveThresholdMs: number | undefined;
}

export type BucketRole = 'sessions' | 'heartbeats' | 'leases' | 'checkpoints' | 'ephemeralKeys';

export interface BucketDefinition {
  readonly role: BucketRole;
  readonly name: string;
  readonly description: string;
  /** Bucket-level TTL: on nats-server 2.9 per-key TTLs are silently ignored, so liveness lives here. */
  readonly ttlMs: number;
  readonly storage: 'file' | 'memory';
  readonly replicas: number;
  readonly history: number;
}

export interface TopologyOptions {
  readonly replicas: number;
  readonly audioMaxAgeMs: number;
  /**
   * Byte cap of the audio stream (512 MiB when unset). At the cap nats-server 2.9 discards on every
   * publish, and ingest collapses: keep sessions x 48 KB/s x the max age under it.
   */
  readonly audioMaxBytes?: number;
  readonly outboxMaxAgeMs: number;
  readonly conversationMaxAgeMs: number;
  readonly jobMaxDeliver: number;
  readonly sessionTtlMs: number;
  readonly leaseTtlMs: number;
  readonly heartbeatTtlMs: number;
  readonly ephemeralKeyTtlMs: number;
}

/**
 * How long a job may go without an ack or an in-progress signal before JetStream redelivers it.
 * Workers signal progress every third of this, so only a dead worker's jobs are redelivered —
 * after at most this long (the takeover time of a killed STT/LLM/TTS worker). It is also how long
 * a job delivered through a NATS node that dies before passing it on stays lost in transit: the
 * consumer counts it delivered. Short, then: a whole turn waits on it.
 */
export const JOB_ACK_WAIT_MS = { stt: 5_000, llm: 5_000, tts: 5_000 } as const;

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

export function streamDefinitions(cat: Catalogue, o: TopologyOptions): StreamDefinition[] {
  const s = cat.subjects;
  const base = { maxBytes: -1, maxMsgsPerSubject: -1, allowDirect: false, replicas: o.replicas };
  return [
    {
      ...base,
      role: 'audio',
      name: cat.streams.audio,
      description: `Parley input audio (PCM16 24 kHz, metadata in Parley-* headers) and input-buffer control, subject ${cat.prefix}.audio.<partition>.<session>; ephemeral, consumed per partition by the VAD stage`,
      subjects: [s.audioAll()],
      storage: 'memory',
      retention: 'limits',
      maxAgeMs: o.audioMaxAgeMs,
      maxBytes: o.audioMaxBytes ?? 512 * MIB,
      maxMsgSize: MIB,
      duplicateWindowMs: Math.min(30_000, o.audioMaxAgeMs),
      // A gateway resuming a session reads the session's last frame to continue its timeline.
      allowDirect: true,
    },
    {
      ...base,
      role: 'utterances',
      name: cat.streams.utterances,
      description: `Parley committed user utterances (PCM16 24 kHz, chunked), subject ${cat.prefix}.utt.<session>.<item>.<chunk>; read by STT and conversation.item.retrieve with direct get`,
      subjects: [s.utteranceAll()],
      storage: 'file',
      retention: 'limits',
      maxAgeMs: 30 * 60_000,
      maxBytes: 2 * GIB,
      maxMsgSize: MIB,
      duplicateWindowMs: 60_000,
      maxMsgsPerSubject: 1,
      allowDirect: true,
    },
    {
      ...base,
      role: 'jobs',
      name: cat.streams.jobs,
      description: `Parley work queue: STT (utterance), LLM (response) and TTS (sentence) jobs, subject ${cat.prefix}.job.<stage>.<session>; one durable consumer per stage shared by its workers`,
      subjects: [s.jobsAll('stt'), s.jobsAll('llm'), s.jobsAll('tts')],
      storage: 'file',
      retention: 'workqueue',
      maxAgeMs: 60 * 60_000,
      maxBytes: GIB,
      maxMsgSize: MIB,
      duplicateWindowMs: 120_000,
    },
    {
      ...base,
      role: 'conversation',
      name: cat.streams.conversation,
      description: `Parley conversation event log (items created/updated/deleted, session open/close), subject ${cat.prefix}.conv.<session>; copied to PostgreSQL by the persist stage, replayed on session takeover`,
      subjects: [s.conversationAll()],
      storage: 'file',
      retention: 'limits',
      maxAgeMs: o.conversationMaxAgeMs,
      maxBytes: -1,
      maxMsgSize: MIB,
      duplicateWindowMs: 120_000,
    },
    {
      ...base,
      role: 'outbox',
      name: cat.streams.outbox,
      description: `Parley events for the gateway that owns a session (VAD, transcripts, LLM text, TTS audio), subject ${cat.prefix}.out.<gateway>.<session>; one consumer per gateway`,
      subjects: [s.outboxAll()],
      storage: 'memory',
      retention: 'limits',
      maxAgeMs: o.outboxMaxAgeMs,
      maxBytes: 512 * MIB,
      maxMsgSize: MIB,
      duplicateWindowMs: Math.min(60_000, o.outboxMaxAgeMs),
    },
    {
      ...base,
      role: 'deadLetters',
      name: cat.streams.deadLetters,
      description: `Parley dead letters: jobs parked after exhausting their deliveries, subject ${cat.prefix}.dlq.<stage>; inspect with nats stream view`,
      subjects: [s.deadLetterAll()],
      storage: 'file',
      retention: 'limits',
      maxAgeMs: 7 * 24 * 3_600_000,
      maxBytes: 256 * MIB,
      maxMsgSize: MIB,
      duplicateWindowMs: 120_000,
    },
  ];
}

export function consumerDefinitions(cat: Catalogue, o: TopologyOptions): ConsumerDefinition[] {
  const job = (role: 'stt' | 'llm' | 'tts', name: string, ackWaitMs: number, what: string): ConsumerDefinition => ({
    role,
    stream: cat.streams.jobs,
    name,
    description: `Parley ${role.toUpperCase()} stage workers (${what}); shared by every worker of the stage`,
    filterSubject: cat.subjects.jobsAll(role),
    ack: 'explicit',
    ackWaitMs,
    maxAckPending: 10_000,
    maxDeliver: o.jobMaxDeliver,
    deliver: 'all',
    memStorage: false,
    replicas: undefined,
    inactiveThresholdMs: undefined,
  });
  const defs: ConsumerDefinition[] = [
    job('stt', cat.consumers.stt, JOB_ACK_WAIT_MS.stt, 'one utterance per job'),
    job('llm', cat.consumers.llm, JOB_ACK_WAIT_MS.llm, 'one response per job'),
    job('tts', cat.consumers.tts, JOB_ACK_WAIT_MS.tts, 'one sentence per job'),
    {
      role: 'persist',
      stream: cat.streams.conversation,
      name: cat.consumers.persist,
      description: 'Parley persist stage: copies the conversation log into PostgreSQL, idempotent on item id and version',
      filterSubject: cat.subjects.conversationAll(),
      ack: 'explicit',
      ackWaitMs: 30_000,
      maxAckPending: 20_000,
      maxDeliver: -1,
      deliver: 'all',
      memStorage: false,
      replicas: undefined,
      inactiveThresholdMs: undefined,
    },
  ];
  for (let n = 0; n < cat.partitions; n++) {
    defs.push({
      role: 'vad',
      stream: cat.streams.audio,
      name: cat.consumers.vadPartition(n),
      description: `Parley VAD stage, audio partition ${n}; owned by one worker at a time (lease ${cat.buckets.leases} key vad.${n})`,
      filterSubject: cat.subjects.audioPartition(n),
      ack: 'explicit',
      ackWaitMs: 10_000,
      maxAckPending: 50_000,
      maxDeliver: -1,
      deliver: 'all',
      memStorage: true,
      replicas: undefined,
      inactiveThresholdMs: undefined,
    });
  }
  return defs;
}

export function bucketDefinitions(cat: Catalogue, o: TopologyOptions): BucketDefinition[] {
  return [
    { role: 'sessions', name: cat.buckets.sessions, description: 'Parley session state: config, owner gateway, conversation pointers (CAS on revision)', ttlMs: o.sessionTtlMs, storage: 'file', replicas: o.replicas, history: 1 },
    { role: 'heartbeats', name: cat.buckets.heartbeats, description: 'Parley session heartbeats; a key older than the TTL is an abandoned session', ttlMs: o.heartbeatTtlMs, storage: 'memory', replicas: o.replicas, history: 1 },
    { role: 'leases', name: cat.buckets.leases, description: 'Parley partition ownership leases (key <stage>.<partition>); a lease lapses when its holder stops renewing', ttlMs: o.leaseTtlMs, storage: 'memory', replicas: o.replicas, history: 1 },
    { role: 'checkpoints', name: cat.buckets.checkpoints, description: 'Parley VAD partition checkpoints (key vad.<partition>): the oldest audio stream sequence a new owner must replay from', ttlMs: o.audioMaxAgeMs, storage: 'file', replicas: o.replicas, history: 1 },
    { role: 'ephemeralKeys', name: cat.buckets.ephemeralKeys, description: 'Parley ephemeral client secrets (ek_…) with their baked-in session config', ttlMs: o.ephemeralKeyTtlMs, storage: 'file', replicas: o.replicas, history: 1 },
  ];
}
