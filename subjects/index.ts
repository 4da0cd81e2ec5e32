// The one catalogue of NATS names: subjects, streams, consumers and KV buckets. Callers never write
// a subject string; they ask the catalogue. Names follow ADR-6 (stream/consumer names have no dots;
// subject tokens are [A-Za-z0-9_-]) and every asset carries a description, because on 2.9 there is
// no metadata and `nats stream ls` / `nats consumer ls` show the description to operators.
export { partitionOf, fnv1a32 } from './partition.ts';
export { streamDefinitions, consumerDefinitions, bucketDefinitions } from './definitions.ts';
export type { StreamDefinition, ConsumerDefinition, BucketDefinition, StreamRole, ConsumerRole, BucketRole } from './definitions.ts';

export interface CatalogueOptions {
  /** Lower-case token prefixing every subject; upper-cased for stream names. */
  readonly prefix: string;
  /** Number of audio partitions. Never change it while sessions are live: sessions would remap. */
  readonly partitions: number;
}

export interface Catalogue {
  readonly prefix: string;
  readonly partitions: number;
  readonly subjects: {
    /** Input audio and input-buffer control of one session, in order: `<p>.audio.<P>.<sid>`. */
    audio(partition: number, sessionId: string): string;
    audioPartition(partition: number): string;
    audioAll(): string;
    /** One chunk of a committed user utterance (24 kHz PCM16). */
    utteranceChunk(sessionId: string, itemId: string, chunk: number): string;
    utteranceAll(): string;
    sttJob(sessionId: string): string;
    llmJob(sessionId: string): string;
    ttsJob(sessionId: string): string;
    jobsAll(kind: 'stt' | 'llm' | 'tts'): string;
    /** The conversation event log of a session: items created, updated, deleted; session open/close. */
    conversation(sessionId: string): string;
    conversationAll(): string;
    /** Events for the gateway that owns a session (read by its ordered consumer). */
    outbox(gatewayId: string, sessionId: string): string;
    outboxGateway(gatewayId: string): string;
    outboxAll(): string;
    /** Core-NATS broadcast: cancel a response (barge-in, response.cancel). Never waits behind audio. */
    cancel(sessionId: string): string;
    cancelAll(): string;
    /** Messages parked after exhausting their deliveries. */
    deadLetter(stage: string): string;
    deadLetterAll(): string;
    /**
     * A session's heartbeat key in the heartbeats bucket, and the subject a KV put of it publishes
     * on: gateways publish heartbeats there without waiting for an ack (one per session every few
     * seconds; a lost one is covered by the next, well inside the TTL).
     */
    heartbeatKey(sessionId: string): string;
    /** Every heartbeat key (for the janitor's watch), and the session a key belongs to. */
    heartbeatKeyAll(): string;
    heartbeatSession(key: string): string;
    heartbeat(sessionId: string): string;
    /**
     * The session a per-session subject (audio, outbox, job, conversation, cancel) belongs to: its
     * last token. Hot consumers read it here instead of from a header (one header less per message).
     */
    sessionOf(subject: string): string;
    /** The pipeline bench's bus probe (its own stream, made and removed by the bench). */
    benchHop(): string;
  };
  readonly streams: {
    readonly audio: string;
    readonly utterances: string;
    readonly jobs: string;
    readonly conversation: string;
    readonly outbox: string;
    readonly deadLetters: string;
    readonly benchHop: string;
  };
  readonly consumers: {
    vadPartition(partition: number): string;
    readonly stt: string;
    readonly llm: string;
    readonly tts: string;
    readonly persist: string;
  };
  readonly buckets: {
    readonly sessions: string;
    readonly heartbeats: string;
    readonly leases: string;
    readonly checkpoints: string;
    readonly ephemeralKeys: string;
  };
}

const TOKEN = /^[A-Za-z0-9_-]+$/;

/** Refuse anything that could break out of its token (dots, wildcards, spaces). */
function token(value: string, what: string): string {
  if (!TOKEN.test(value)) throw new Error(`invalid ${what} for a NATS subject token: '${value}'`);
  return value;
}

/** Heartbeat keys are `s.<session id>` in the heartbeats bucket. */
const HEARTBEAT_KEY_PREFIX = 's.';

export function createCatalogue(opts: CatalogueOptions): Catalogue {
  const p = token(opts.prefix, 'prefix');
  const P = p.toUpperCase();
  const partitionToken = (n: number): string => {
    if (!Number.isInteger(n) || n < 0 || n >= opts.partitions) throw new Error(`partition ${n} out of range 0..${opts.partitions - 1}`);
    return String(n);
  };
  const heartbeatsBucket = `${p}_heartbeats`;
  const heartbeatKey = (sid: string) => `${HEARTBEAT_KEY_PREFIX}${token(sid, 'session id')}`;
  return {
    prefix: p,
    partitions: opts.partitions,
    subjects: {
      audio: (partition, sid) => `${p}.audio.${partitionToken(partition)}.${token(sid, 'session id')}`,
      audioPartition: (partition) => `${p}.audio.${partitionToken(partition)}.*`,
      audioAll: () => `${p}.audio.>`,
      utteranceChunk: (sid, itemId, chunk) => {
        if (!Number.isInteger(chunk) || chunk < 0) throw new Error(`invalid utterance chunk number ${chunk}`);
        return `${p}.utt.${token(sid, 'session id')}.${token(itemId, 'item id')}.${chunk}`;
      },
      utteranceAll: () => `${p}.utt.>`,
      sttJob: (sid) => `${p}.job.stt.${token(sid, 'session id')}`,
      llmJob: (sid) => `${p}.job.llm.${token(sid, 'session id')}`,
      ttsJob: (sid) => `${p}.job.tts.${token(sid, 'session id')}`,
      jobsAll: (kind) => `${p}.job.${kind}.*`,
      conversation: (sid) => `${p}.conv.${token(sid, 'session id')}`,
      conversationAll: () => `${p}.conv.*`,
      outbox: (gw, sid) => `${p}.out.${token(gw, 'gateway id')}.${token(sid, 'session id')}`,
      outboxGateway: (gw) => `${p}.out.${token(gw, 'gateway id')}.*`,
      outboxAll: () => `${p}.out.>`,
      cancel: (sid) => `${p}.cancel.${token(sid, 'session id')}`,
      cancelAll: () => `${p}.cancel.*`,
      deadLetter: (stage) => `${p}.dlq.${token(stage, 'stage')}`,
      deadLetterAll: () => `${p}.dlq.*`,
      heartbeatKey,
      heartbeatKeyAll: () => `${HEARTBEAT_KEY_PREFIX}>`,
      heartbeatSession: (key) => key.slice(HEARTBEAT_KEY_PREFIX.length),
      heartbeat: (sid) => `$KV.${heartbeatsBucket}.${heartbeatKey(sid)}`,
      sessionOf: (subject) => subject.slice(subject.lastIndexOf('.') + 1),
      benchHop: () => `${p}.bench.hop`,
    },
    streams: {
      audio: `${P}_AUDIO`,
      utterances: `${P}_UTTERANCES`,
      jobs: `${P}_JOBS`,
      conversation: `${P}_CONVERSATION`,
      outbox: `${P}_OUTBOX`,
      deadLetters: `${P}_DLQ`,
      benchHop: `${P}_BENCH_HOP`,
    },
    consumers: {
      vadPartition: (n) => `vad-p${partitionToken(n).padStart(4, '0')}`,
      stt: 'stt',
      llm: 'llm',
      tts: 'tts',
      persist: 'persist',
    },
    buckets: {
      sessions: `${p}_sessions`,
      heartbeats: heartbeatsBucket,
      leases: `${p}_leases`,
      checkpoints: `${p}_checkpoints`,
      ephemeralKeys: `${p}_ephemeral_keys`,
    },
  };
}
export { JOB_ACK_WAIT_MS } from './definitions.ts';
export type { TopologyOptions } from './definitions.ts';
