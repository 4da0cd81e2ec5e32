// The one typed configuration of Parley: every tunable, read from the environment once in main(),
// validated, frozen. Nothing else reads process.env. Durations are milliseconds (`…Ms`).
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from './errors.ts';

export type SttEngineName = 'pocketsphinx' | 'openai' | 'null';
export type LlmEngineName = 'echo' | 'openai' | 'null';
export type TtsEngineName = 'espeak' | 'openai' | 'null';

export interface ApiKeyEntry {
  readonly key: string;
  readonly tenantId: string;
}

export interface ParleyConfig {
  readonly instanceId: string;
  readonly dataDir: string;
  readonly logLevel: string;
  readonly nats: {
    /** Unset: the embedded launcher spawns nats-server on a free port. */
    readonly url: string | undefined;
    readonly prefix: string;
    readonly replicas: number;
    readonly partitions: number;
    readonly audioMaxAgeMs: number;
    /** Size cap of the in-memory audio stream; see the README on sizing it. */
    readonly audioMaxBytes: number;
    readonly outboxMaxAgeMs: number;
    readonly conversationMaxAgeMs: number;
    readonly jobMaxDeliver: number;
    readonly natsServerBin: string;
    /** GOMAXPROCS of the embedded nats-server (it shares the machine with Parley). */
    readonly embeddedGoMaxProcs: number;
  };
  readonly gateway: {
    readonly host: string;
    readonly port: number;
    readonly tlsPort: number;
    readonly tlsCertFile: string | undefined;
    readonly tlsKeyFile: string | undefined;
    readonly apiKeys: readonly ApiKeyEntry[];
    readonly defaultModel: string;
    readonly maxConnections: number;
    readonly admissionPerSecond: number;
    /** New sessions are refused while the gateway's event loop runs later than this on average (ms; 0: never). */
    readonly admissionMaxLagMs: number;
    readonly maxMessageBytes: number;
    readonly maxBackpressureBytes: number;
    readonly pingIntervalMs: number;
    readonly sessionMaxMs: number;
    readonly audioFrameMs: number;
    readonly inputBufferMaxMs: number;
    readonly contextMaxChars: number;
    readonly ephemeralKeyTtlMs: number;
    readonly drainMs: number;
    /** Per minute, sliding window: responses per session, new sessions per tenant. */
    readonly rateLimits: { readonly responsesPerMinute: number; readonly sessionsPerMinute: number };
    /** Per-tenant overrides of rateLimits (seed 001 req. 3.5). */
    readonly tenantRateLimits: Readonly<Record<string, { responsesPerMinute?: number; sessionsPerMinute?: number }>>;
  };
  readonly vad: {
    readonly modelPath: string | undefined;
    readonly maxBatch: number;
    /** The rate Silero runs at: 16000 (default) or 8000 (~40% less inference per frame). */
    readonly sampleRate: 16_000 | 8_000;
    readonly batchWindowMs: number;
    readonly batchAboveBusy: number;
    readonly maxUtteranceMs: number;
    /** Frames quieter than this (RMS, dBFS) are silence without inference (-140: digital silence only). */
    readonly silenceFloorDbfs: number;
  };
  readonly stt: {
    readonly engine: SttEngineName;
    readonly baseUrl: string | undefined;
    readonly apiKey: string | undefined;
    readonly model: string;
    readonly timeoutMs: number;
    readonly concurrency: number;
  };
  readonly llm: {
    readonly engine: LlmEngineName;
    readonly baseUrl: string | undefined;
    readonly apiKey: string | undefined;
    readonly model: string;
    readonly timeoutMs: number;
    readonly concurrency: number;
  };
  readonly tts: {
    readonly engine: TtsEngineName;
    readonly baseUrl: string | undefined;
    readonly apiKey: string | undefined;
    readonly model: string;
    readonly timeoutMs: number;
    readonly concurrency: number;
  };
  readonly db: {
    /** Unset: PGlite (Postgres in WASM) under dataDir. */
    readonly url: string | undefined;
    readonly poolSize: number;
    readonly schema: string | undefined;
    /** Niceness of the persist stage's worker thread when embedded (PGlite writes in bursts). */
    readonly threadNice: number;
  };
  /** Delay of the null engines (load tests isolating the platform's own cost). */
  readonly nullEngineDelayMs: number;
  readonly otel: {
    readonly endpoint: string | undefined;
    readonly serviceName: string;
  };
}

type Env = Readonly<Record<string, string | undefined>>;

function str(env: Env, name: string, fallback: string): string {
  const v = env[name];
  return v === undefined || v === '' ? fallback : v;
}

function opt(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v === '' ? undefined : v;
}

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new ConfigError(`${name} must be an integer between ${min} and ${max}, got '${raw}'`);
  }
  return v;
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(`${name} must be one of ${allowed.join(', ')}, got '${raw}'`);
  }
  return raw as T;
}

/** `key1:tenantA,key2:tenantB`; a key without a tenant belongs to tenant `default`. */
export function parseApiKeys(raw: string | undefined): ApiKeyEntry[] {
  if (!raw) return [];
  const entries: ApiKeyEntry[] = [];
  for (const part of raw.split(',')) {
    const trimmed = part.trim();
    if (!trimmed) continue;
    const colon = trimmed.lastIndexOf(':');
    const key = colon > 0 ? trimmed.slice(0, colon) : trimmed;
    const tenantId = colon > 0 ? trimmed.slice(colon + 1) : 'default';
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(tenantId)) {
      throw new ConfigError(`PARLEY_API_KEYS: tenant '${tenantId}' must match [A-Za-z0-9_-]{1,64}`);
    }
    if (key.length < 8) throw new ConfigError('PARLEY_API_KEYS: every key must be at least 8 characters');
    entries.push({ key, tenantId });
  }
  return entries;
}

/** `tenantA:responses=200,sessions=1000;tenantB:sessions=50` (per minute). */
export function parseTenantLimits(raw: string | undefined): Record<string, { responsesPerMinute?: number; sessionsPerMinute?: number }> {
  const out: Record<string, { responsesPerMinute?: number; sessionsPerMinute?: number }> = {};
  if (!raw) return out;
  for (const part of raw.split(';').map((p) => p.trim()).filter(Boolean)) {
    const [tenant, limits] = part.split(':');
    if (!tenant || !limits) throw new ConfigError(`PARLEY_TENANT_RATE_LIMITS: expected tenant:responses=N,sessions=N, got '${part}'`);
    const entry: { responsesPerMinute?: number; sessionsPerMinute?: number } = {};
    for (const kv of limits.split(',')) {
      const [k, v] = kv.split('=');
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new ConfigError(`PARLEY_TENANT_RATE_LIMITS: '${kv}' needs a positive whole number`);
      if (k === 'responses') entry.responsesPerMinute = n;
      else if (k === 'sessions') entry.sessionsPerMinute = n;
      else throw new ConfigError(`PARLEY_TENANT_RATE_LIMITS: unknown limit '${k}' (responses, sessions)`);
    }
    out[tenant.trim()] = entry;
  }
  return out;
}

/**
 * Default jobs in flight per STT/TTS worker, by engine. A local engine spends CPU: about one
 * recognizer per core (pocketsphinx), a few espeak-ng processes (short sentences, partly waiting on
 * pipes). A remote engine mostly waits on the network, and the null engines on nothing: there a
 * limit of 2 would queue utterances behind a PubAck (at 300 null-engine sessions on 2 cores,
 * speech_stopped -> transcript p50 0.9 s with 2, 0.2 s with 64: loadtest/bench-pipeline.ts).
 */
const JOBS_IN_FLIGHT = { pocketsphinx: 2, espeak: 4, openai: 16, null: 64 } as const;

export function loadConfig(env: Env = process.env): ParleyConfig {
  const dataDir = path.resolve(str(env, 'PARLEY_DATA_DIR', '.parley'));
  const openAiBase = opt(env, 'OPENAI_BASE_URL');
  const openAiKey = opt(env, 'OPENAI_API_KEY');
  const llmDefault: LlmEngineName = openAiBase || openAiKey ? 'openai' : 'echo';
  const sttEngine = oneOf(env, 'PARLEY_STT_ENGINE', ['pocketsphinx', 'openai', 'null'] as const, 'pocketsphinx');
  const ttsEngine = oneOf(env, 'PARLEY_TTS_ENGINE', ['espeak', 'openai', 'null'] as const, 'espeak');
  const prefix = str(env, 'PARLEY_NATS_PREFIX', 'parley');
  if (!/^[a-z][a-z0-9_]{0,30}$/.test(prefix)) {
    throw new ConfigError(`PARLEY_NATS_PREFIX must match [a-z][a-z0-9_]{0,30}, got '${prefix}'`);
  }
  const config: ParleyConfig = {
    instanceId: str(env, 'PARLEY_INSTANCE_ID', `${os.hostname().replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 24)}-${process.pid}`),
    dataDir,
    logLevel: str(env, 'PARLEY_LOG_LEVEL', 'info'),
    nats: {
      url: opt(env, 'NATS_URL'),
      prefix,
      replicas: int(env, 'PARLEY_NATS_REPLICAS', 1, 1, 5),
      partitions: int(env, 'PARLEY_PARTITIONS', 16, 1, 1024),
      audioMaxAgeMs: int(env, 'PARLEY_AUDIO_MAX_AGE_MS', 120_000, 10_000, 3_600_000),
      audioMaxBytes: int(env, 'PARLEY_AUDIO_MAX_BYTES', 512 * 1024 * 1024, 64 * 1024 * 1024, 256 * 1024 * 1024 * 1024),
      outboxMaxAgeMs: int(env, 'PARLEY_OUTBOX_MAX_AGE_MS', 300_000, 10_000, 3_600_000),
      conversationMaxAgeMs: int(env, 'PARLEY_CONVERSATION_MAX_AGE_MS', 7 * 24 * 3_600_000, 60_000, 365 * 24 * 3_600_000),
      jobMaxDeliver: int(env, 'PARLEY_JOB_MAX_DELIVER', 5, 1, 100),
      natsServerBin: str(env, 'PARLEY_NATS_SERVER_BIN', 'nats-server'),
      // Go's own default, one per core: fewer cost less CPU but queue every PubAck and delivery
      // behind one scheduler thread (see ops/nats-server.ts for the measurement).
      embeddedGoMaxProcs: int(env, 'PARLEY_NATS_EMBEDDED_GOMAXPROCS', os.availableParallelism(), 1, 1024),
    },
    gateway: {
      host: str(env, 'PARLEY_HOST', '0.0.0.0'),
      port: int(env, 'PARLEY_PORT', 8080, 0, 65535),
      tlsPort: int(env, 'PARLEY_TLS_PORT', 8443, 0, 65535),
      tlsCertFile: opt(env, 'PARLEY_TLS_CERT'),
      tlsKeyFile: opt(env, 'PARLEY_TLS_KEY'),
      apiKeys: parseApiKeys(opt(env, 'PARLEY_API_KEYS')),
      defaultModel: str(env, 'PARLEY_DEFAULT_MODEL', 'gpt-realtime'),
      maxConnections: int(env, 'PARLEY_MAX_CONNECTIONS', defaultMaxConnections(), 1, 10_000_000),
      admissionPerSecond: int(env, 'PARLEY_ADMISSION_PER_SECOND', 100, 1, 1_000_000),
      admissionMaxLagMs: int(env, 'PARLEY_ADMISSION_MAX_LAG_MS', 25, 0, 60_000),
      maxMessageBytes: int(env, 'PARLEY_MAX_MESSAGE_BYTES', 24 * 1024 * 1024, 1024, 512 * 1024 * 1024),
      maxBackpressureBytes: int(env, 'PARLEY_MAX_BACKPRESSURE_BYTES', 8 * 1024 * 1024, 64 * 1024, 1024 * 1024 * 1024),
      pingIntervalMs: int(env, 'PARLEY_PING_INTERVAL_MS', 20_000, 1_000, 900_000), // uWS timeouts stop at 960 s
      sessionMaxMs: int(env, 'PARLEY_SESSION_MAX_MS', 60 * 60_000, 1_000, 24 * 3_600_000),
      audioFrameMs: int(env, 'PARLEY_AUDIO_FRAME_MS', 40, 10, 1_000),
      inputBufferMaxMs: int(env, 'PARLEY_INPUT_BUFFER_MAX_MS', 10 * 60_000, 1_000, 3_600_000),
      contextMaxChars: int(env, 'PARLEY_CONTEXT_MAX_CHARS', 60_000, 1_000, 10_000_000),
      ephemeralKeyTtlMs: int(env, 'PARLEY_EPHEMERAL_KEY_TTL_MS', 600_000, 10_000, 7_200_000),
      drainMs: int(env, 'PARLEY_DRAIN_MS', 30_000, 0, 600_000),
      rateLimits: {
        responsesPerMinute: int(env, 'PARLEY_RATE_LIMIT_RESPONSES_PER_MINUTE', 100, 1, 1_000_000),
        sessionsPerMinute: int(env, 'PARLEY_RATE_LIMIT_SESSIONS_PER_MINUTE', 600, 1, 10_000_000),
      },
      tenantRateLimits: parseTenantLimits(opt(env, 'PARLEY_TENANT_RATE_LIMITS')),
    },
    vad: {
      modelPath: opt(env, 'PARLEY_VAD_MODEL'),
      maxBatch: int(env, 'PARLEY_VAD_MAX_BATCH', 128, 1, 4096),
      sampleRate: oneOf(env, 'PARLEY_VAD_SAMPLE_RATE', ['16000', '8000'] as const, '16000') === '8000' ? 8_000 : 16_000,
      batchWindowMs: int(env, 'PARLEY_VAD_BATCH_WINDOW_MS', 10, 0, 200),
      batchAboveBusy: int(env, 'PARLEY_VAD_BATCH_ABOVE_BUSY_PERCENT', 20, 0, 100) / 100,
      maxUtteranceMs: int(env, 'PARLEY_VAD_MAX_UTTERANCE_MS', 60_000, 1_000, 3_600_000),
      silenceFloorDbfs: int(env, 'PARLEY_VAD_SILENCE_FLOOR_DBFS', -60, -140, -20),
    },
    stt: {
      engine: sttEngine,
      baseUrl: opt(env, 'PARLEY_STT_BASE_URL') ?? openAiBase,
      apiKey: opt(env, 'PARLEY_STT_API_KEY') ?? openAiKey,
      model: str(env, 'PARLEY_STT_MODEL', 'whisper-1'),
      timeoutMs: int(env, 'PARLEY_STT_TIMEOUT_MS', 30_000, 100, 600_000),
      concurrency: int(env, 'PARLEY_STT_CONCURRENCY', JOBS_IN_FLIGHT[sttEngine], 1, 1024),
    },
    llm: {
      engine: oneOf(env, 'PARLEY_LLM_ENGINE', ['echo', 'openai', 'null'] as const, llmDefault),
      baseUrl: openAiBase,
      apiKey: openAiKey,
      model: str(env, 'PARLEY_LLM_MODEL', 'gpt-4o-mini'),
      timeoutMs: int(env, 'PARLEY_LLM_TIMEOUT_MS', 30_000, 100, 600_000),
      concurrency: int(env, 'PARLEY_LLM_CONCURRENCY', 64, 1, 10_000),
    },
    tts: {
      engine: ttsEngine,
      baseUrl: opt(env, 'PARLEY_TTS_BASE_URL') ?? openAiBase,
      apiKey: opt(env, 'PARLEY_TTS_API_KEY') ?? openAiKey,
      model: str(env, 'PARLEY_TTS_MODEL', 'gpt-4o-mini-tts'),
      timeoutMs: int(env, 'PARLEY_TTS_TIMEOUT_MS', 30_000, 100, 600_000),
      concurrency: int(env, 'PARLEY_TTS_CONCURRENCY', JOBS_IN_FLIGHT[ttsEngine], 1, 1024),
    },
    db: {
      url: opt(env, 'DATABASE_URL'),
      poolSize: int(env, 'PARLEY_DB_POOL_SIZE', 10, 1, 1000),
      schema: opt(env, 'PARLEY_DB_SCHEMA'),
      threadNice: int(env, 'PARLEY_PERSIST_THREAD_NICE', 10, 0, 19),
    },
    nullEngineDelayMs: int(env, 'PARLEY_NULL_ENGINE_DELAY_MS', 0, 0, 60_000),
    otel: {
      endpoint: opt(env, 'OTEL_EXPORTER_OTLP_ENDPOINT'),
      serviceName: str(env, 'OTEL_SERVICE_NAME', 'parley'),
    },
  };
  if (config.stt.engine === 'openai' && !config.stt.baseUrl && !config.stt.apiKey) {
    throw new ConfigError('PARLEY_STT_ENGINE=openai needs PARLEY_STT_BASE_URL or OPENAI_BASE_URL (or an API key for api.openai.com)');
  }
  if (config.tts.engine === 'openai' && !config.tts.baseUrl && !config.tts.apiKey) {
    throw new ConfigError('PARLEY_TTS_ENGINE=openai needs PARLEY_TTS_BASE_URL or OPENAI_BASE_URL (or an API key for api.openai.com)');
  }
  if ((config.gateway.tlsCertFile === undefined) !== (config.gateway.tlsKeyFile === undefined)) {
    throw new ConfigError('PARLEY_TLS_CERT and PARLEY_TLS_KEY must be set together');
  }
  return deepFreeze(config);
}

/** Overrides for tests and the embedded launcher, merged over a loaded config. */
export function withOverrides(base: ParleyConfig, patch: DeepPartial<ParleyConfig>): ParleyConfig {
  return deepFreeze(merge(structuredClone(base) as unknown as Record<string, unknown>, patch) as unknown as ParleyConfig);
}

export type DeepPartial<T> = { -readonly [K in keyof T]?: T[K] extends readonly unknown[] ? T[K] : T[K] extends object ? DeepPartial<T[K]> : T[K] };

function merge(target: Record<string, unknown>, patch: object): Record<string, unknown> {
  for (const [k, v] of Object.entries(patch)) {
    const cur = target[k];
    if (v && typeof v === 'object' && !Array.isArray(v) && cur && typeof cur === 'object' && !Array.isArray(cur)) {
      merge(cur as Record<string, unknown>, v);
    } else if (v !== undefined) {
      target[k] = v;
    }
  }
  return target;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

/** Files kept free for NATS, logs, the data dir and TLS when connections fill the open-file limit. */
const RESERVED_FILES = 1_000;
const RESERVED_FILES_MIN = 64;

/**
 * The connection cap follows this process's open-file limit (less a reserve): uWS spins at 100% CPU
 * when accept() fails for lack of descriptors, so the gateway must refuse before that point.
 */
export function defaultMaxConnections(limitsText?: string): number {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/limits', 'utf8');
    } catch {
      return 19_000; // not Linux: assume the common 20,000 limit
    }
  }
  const soft = /^Max open files\s+(\d+|unlimited)/m.exec(text)?.[1];
  if (!soft || soft === 'unlimited') return 1_000_000;
  const limit = Number(soft);
  const reserve = Math.min(RESERVED_FILES, Math.max(RESERVED_FILES_MIN, Math.ceil(limit / 10)));
  return Math.max(1, limit - reserve);
}
