// One Realtime session: its effective config, conversation, input-audio pipe onto the bus and the
// responses it runs. Client events arrive through client-events.ts, stage events through
// outbox-events.ts; this file holds the state and the operations both of them use.
import { G711Decoder, type G711Law } from '../lib/audio/index.ts';
import type { ParleyConfig } from '../lib/config.ts';
import { ClientRequestError, errorMessage } from '../lib/errors.ts';
import { eventIdFactory, newId } from '../lib/ids.ts';
import type { Logger } from '../lib/logger.ts';
import { metrics } from '../lib/metrics.ts';
import type { Bus } from '../lib/nats/bus.ts';
import type { CancelRegistry } from '../lib/nats/cancellations.ts';
import { publishJson } from '../lib/nats/publish.ts';
import type { ConversationItem, ConversationRecord, LlmJob, SessionConfig, SessionRecord } from '../schemas/index.ts';
import type { SessionStore } from '../lib/session-store.ts';
import type { SessionLiveness } from './session-liveness.ts';
import type { RateDecision, RateLimiter } from '../lib/rate-limit.ts';
import type { RestoredItem } from './session-restore.ts';
import { partitionOf } from '../subjects/index.ts';
import { AudioIngest } from './audio-ingest.ts';
import type { Connection } from './connection.ts';
import { Conversation, toPersisted } from './conversation.ts';
import type { Dialect } from './dialect.ts';
import { ResponseRun, type ResponseHost } from './response.ts';

const TRANSCRIPT_WAIT_MS = 20_000;

export interface SessionDeps {
  readonly bus: Bus;
  readonly config: ParleyConfig;
  readonly cancels: CancelRegistry;
  readonly gatewayId: string;
  readonly log: Logger;
  readonly store: SessionStore;
  readonly liveness: SessionLiveness;
  readonly limiter: RateLimiter;
}

/** What a session continues from when it is resumed on this gateway. */
export interface SessionResume {
  readonly revision: number;
  readonly createdAt: number;
  readonly items: RestoredItem[];
  readonly ingest: { readonly nextSeq: number; readonly nextOffset: number };
}

export interface ResponseOptions {
  readonly conversation: 'auto' | 'none';
  readonly audio: boolean;
  readonly voice: string;
  readonly instructions: string;
  readonly tools: SessionConfig['tools'];
  readonly toolChoice: SessionConfig['tool_choice'];
  readonly temperature: number;
  readonly maxOutputTokens: number | 'inf';
  readonly metadata: Record<string, string> | null;
  /** Explicit context (`response.input`); the conversation otherwise. */
  readonly input: ConversationItem[] | null;
  readonly outputFormat: SessionConfig['output_format'];
}

/** Wall-clock marks of the current turn, for the per-phase latency histograms. */
interface TurnClock {
  speechStoppedAt?: number;
  speechEndAt?: number;
  transcriptAt?: number;
  textAt?: number;
}

export class RealtimeSession {
  readonly id: string;
  readonly conversationId = newId('conv');
  readonly conversation = new Conversation((ids) => {
    for (const id of ids) {
      const entry = this.conversation.get(id);
      if (entry) this.persistItem(entry.item);
    }
  });
  readonly ingest: AudioIngest;
  readonly responses = new Map<string, ResponseRun>();
  readonly log: Logger;
  /** The response writing to the default conversation, if any (only one at a time). */
  activeResponse: ResponseRun | null = null;
  audioProduced = false;
  closed = false;
  /** End (session audio ms) of the latest committed input: older VAD decisions are replays. */
  committedUntilMs = 0;
  turn: TurnClock = {};
  /** Transcripts that arrived before their commit (bounded: cleared on use, capped below). */
  readonly earlyTranscripts = new Map<string, { transcript: string; seconds: number }>();
  /** The rate-limit check for the response a VAD turn will create, started at speech_stopped. */
  private earlyAdmission: { itemId: string; decision: Promise<RateDecision> } | undefined;
  private readonly nextEventId = eventIdFactory();
  /** KV revision of the session record (compare-and-set); undefined until first written. */
  private revision: number | undefined;
  private readonly createdAt: number;
  private saving: Promise<void> = Promise.resolve();
  private g711: { law: G711Law; decoder: G711Decoder } | undefined;
  private readonly expiryTimer: NodeJS.Timeout;
  private idleTimer: NodeJS.Timeout | undefined;
  private firstAudioAt = 0;

  constructor(
    readonly deps: SessionDeps,
    readonly conn: Connection,
    readonly dialect: Dialect,
    public config: SessionConfig,
    readonly tenantId: string,
    resume?: SessionResume,
  ) {
    this.id = config.id;
    this.log = deps.log.child({ session_id: this.id, tenant: tenantId });
    this.revision = resume?.revision;
    this.createdAt = resume?.createdAt ?? Date.now();
    for (const r of resume?.items ?? []) this.conversation.restore(r.item, r.position, r.version);
    this.ingest = new AudioIngest(
      deps.bus,
      { sessionId: this.id, gatewayId: deps.gatewayId, partition: partitionOf(this.id, deps.bus.cat.partitions) },
      { frameMs: deps.config.gateway.audioFrameMs, maxQueuedMs: 30_000 },
      this.log,
      (message) => this.sendError(new ClientRequestError('audio_ingest_failed', message), null, 'server_error'),
      resume?.ingest,
    );
    deps.liveness.track(this.id);
    this.expiryTimer = setTimeout(() => this.expire(), Math.max(0, config.expires_at * 1000 - Date.now()));
    this.expiryTimer.unref();
  }

  /** G.711 input (8 kHz) to the bus's 24 kHz PCM16, with filter state kept across appends. */
  decodeG711(law: G711Law, bytes: Uint8Array): Uint8Array {
    if (!this.g711 || this.g711.law !== law) this.g711 = { law, decoder: new G711Decoder(law) };
    return this.g711.decoder.decode(bytes);
  }

  /** Run `fn`, sending whatever events it sends to the client in one socket write. */
  corked(fn: () => void): void {
    this.conn.corked(fn);
  }

  /** Send a GA-shaped event through the connection's dialect. */
  send(event: Record<string, unknown>): void {
    if (this.closed) return;
    const rendered = this.dialect.render({ ...event, event_id: this.nextEventId() });
    if (!rendered) return;
    metrics.serverEvents.inc({ type: rendered['type'] as string });
    this.conn.sendText(JSON.stringify(rendered));
  }

  sendError(err: ClientRequestError, clientEventId: string | null, type: 'invalid_request_error' | 'server_error' = err.kind): void {
    metrics.clientErrors.inc({ code: err.code });
    this.send({ type: 'error', error: { type, code: err.code, message: err.message, param: err.param, event_id: clientEventId } });
  }

  sendSession(kind: 'session.created' | 'session.updated'): void {
    this.send({ type: kind, session: this.dialect.renderSession(this.config) });
  }

  /**
   * Write the session record to KV (create, or compare-and-set over our last revision) so any
   * gateway can resume it. Writes are serialized; a lost race (another gateway took the session
   * over) closes this copy.
   */
  saveState(): Promise<void> {
    const record: SessionRecord = {
      id: this.id,
      tenantId: this.tenantId,
      iface: this.dialect.kind,
      gatewayId: this.deps.gatewayId,
      config: this.config as unknown as Record<string, unknown>,
      createdAt: this.createdAt,
      updatedAt: Date.now(),
    };
    this.saving = this.saving.then(async () => {
      const started = performance.now();
      try {
        this.revision = await this.deps.store.save(record, this.revision);
        metrics.sessionStateWriteSeconds.observe((performance.now() - started) / 1000);
      } catch (err) {
        this.log.warn({ err: errorMessage(err) }, 'session state write lost (taken over elsewhere?), closing this copy');
        this.conn.close(4000, 'session_taken_over');
      }
    });
    return this.saving;
  }

  /** Tell the VAD owner (in order with audio) how this session detects turns. */
  pushInputConfig(): Promise<void> {
    return this.ingest.control({ op: 'config', turnDetection: this.config.turn_detection, transcription: this.config.transcription, tenantId: this.tenantId });
  }

  record(rec: ConversationRecord, msgId: string): void {
    publishJson(this.deps.bus, this.deps.bus.cat.subjects.conversation(this.id), rec, { msgId }).catch((err: unknown) =>
      this.log.error({ err: errorMessage(err), kind: rec.kind }, 'conversation record could not be published'),
    );
  }

  /** Persist the current state of an item (a new version each time). */
  persistItem(item: ConversationItem): void {
    const entry = this.conversation.get(item.id);
    if (!entry) return;
    const version = ++entry.meta.version;
    this.record(
      { kind: 'item.upserted', sessionId: this.id, tenantId: this.tenantId, item: toPersisted(item), position: entry.meta.position, version, at: Date.now() },
      `${this.id}:item:${item.id}:${version}`,
    );
  }

  /** Add an item to the conversation and announce it (`added` + `done` in GA, `created` in beta). */
  addItem(item: ConversationItem, previousId: string | null | undefined, meta: { utteranceChunks?: number; transcriptPending?: boolean } = {}): void {
    const prev = this.conversation.insert(item, previousId, meta);
    this.send({ type: 'conversation.item.added', previous_item_id: prev, item });
    this.send({ type: 'conversation.item.done', previous_item_id: prev, item });
    this.persistItem(item);
  }

  /**
   * The user stopped speaking and the commit that follows will create a response: start its
   * rate-limit check (a JetStream round trip) now, so it is not on the path from commit to model.
   * If no response follows after all (the commit is dropped), that turn counted against the limit.
   */
  anticipateResponse(itemId: string): void {
    const td = this.config.turn_detection;
    if (this.config.type !== 'realtime' || !td?.create_response) return;
    if (this.activeResponse?.active && !td.interrupt_response) return; // the running response stays; none follows
    this.earlyAdmission = { itemId, decision: this.deps.limiter.check('responses', this.id, this.responseLimit()) };
  }

  /** The check anticipateResponse started for this turn, if any (taken once). */
  takeEarlyAdmission(itemId: string): Promise<RateDecision> | undefined {
    const early = this.earlyAdmission;
    if (early?.itemId !== itemId) return undefined;
    this.earlyAdmission = undefined;
    return early.decision;
  }

  createResponse(opts: ResponseOptions, admitted?: Promise<RateDecision>): ResponseRun {
    const run: ResponseRun = new ResponseRun(
      {
        id: newId('resp'),
        messageItemId: newId('item'),
        conversation: opts.conversation,
        audio: opts.audio,
        voice: opts.voice,
        outputFormat: opts.outputFormat,
        maxOutputTokens: opts.maxOutputTokens,
        metadata: opts.metadata,
        conversationId: this.conversationId,
        temperature: opts.temperature,
      },
      this.responseHost(),
    );
    this.responses.set(run.id, run);
    if (opts.conversation === 'auto') this.activeResponse = run;
    run.start();
    const pending = new Set(this.conversation.pendingTranscripts());
    const context = () => this.conversation.context(this.deps.config.gateway.contextMaxChars, opts.input ?? undefined);
    // The rate-limit check (a JetStream round trip) starts now, while the turn is still being
    // transcribed, so it is not on the path from transcript to model.
    const admission = admitted ?? this.deps.limiter.check('responses', this.id, this.responseLimit());
    const dispatch = () => this.dispatchLlm(run, opts, context(), admission);
    if (opts.input !== null || pending.size === 0) dispatch();
    else {
      this.waiting.push({ run, pending, dispatch });
      // A transcript that never comes (STT down) must not hold the response forever.
      setTimeout(dispatch, TRANSCRIPT_WAIT_MS).unref();
    }
    return run;
  }

  /** Responses waiting for transcripts of items said before they were created. */
  private waiting: Array<{ run: ResponseRun; pending: Set<string>; dispatch: () => void }> = [];

  transcriptSettled(itemId: string): void {
    const ready = this.waiting.filter((w) => w.pending.delete(itemId) && w.pending.size === 0);
    this.waiting = this.waiting.filter((w) => w.pending.size > 0 && w.run.active);
    for (const w of ready) if (w.run.active) w.dispatch();
  }

  /** Requests per minute for this session (the tenant's override, or the default). */
  responseLimit(): number {
    const g = this.deps.config.gateway;
    return g.tenantRateLimits[this.tenantId]?.responsesPerMinute ?? g.rateLimits.responsesPerMinute;
  }

  private dispatchLlm(run: ResponseRun, opts: ResponseOptions, context: LlmJob['context'], admission: Promise<RateDecision>): void {
    if (!run.active || run.dispatched) return;
    run.dispatched = true;
    // The response exists already (clients see response.created at once); the model is only asked
    // if the session is within its rate limit.
    void admission.then((decision) => {
      if (!run.active) return;
      if (decision.allowed) return this.queueLlmJob(run, opts, context);
      this.sendError(new ClientRequestError('rate_limit_exceeded', `Rate limit reached: at most ${decision.limit} responses per minute for this session. Retry in a few seconds.`), null, 'invalid_request_error');
      run.fail('rate_limit_exceeded');
    });
  }

  private queueLlmJob(run: ResponseRun, opts: ResponseOptions, context: LlmJob['context']): void {
    const choice = opts.toolChoice;
    const job: LlmJob = {
      sessionId: this.id,
      gatewayId: this.deps.gatewayId,
      tenantId: this.tenantId,
      responseId: run.id,
      itemId: run.p.messageItemId,
      audio: opts.audio,
      instructions: opts.instructions,
      voice: opts.voice,
      speed: this.config.speed,
      tools: opts.tools.map((t) => ({ name: t.name, description: t.description ?? '', parameters: (t.parameters ?? { type: 'object', properties: {} }) as Record<string, unknown> })),
      toolChoice: typeof choice === 'string' ? choice : { name: choice.name },
      temperature: opts.temperature,
      maxOutputTokens: opts.maxOutputTokens === 'inf' ? null : opts.maxOutputTokens,
      context,
      createdAt: Date.now(),
    };
    publishJson(this.deps.bus, this.deps.bus.cat.subjects.llmJob(this.id), job, { msgId: `llm:${run.id}` }).catch((err: unknown) => {
      this.log.error({ err: errorMessage(err), response: run.id }, 'llm job could not be queued');
      this.sendError(new ClientRequestError('response_dispatch_failed', 'The response could not be started: the processing pipeline is unavailable.'), null, 'server_error');
      run.fail('response_dispatch_failed');
    });
  }

  cancelResponse(run: ResponseRun, reason: 'turn_detected' | 'client_cancelled'): void {
    if (!run.active) return;
    this.deps.cancels.publish({ sessionId: this.id, responseId: run.id, reason });
    run.cancel(reason);
  }

  private responseHost(): ResponseHost {
    return {
      emit: (ev) => this.send(ev),
      insertItem: (item) => {
        const prev = this.conversation.insert(item, undefined);
        // Recorded as soon as it exists (in progress): a gateway that dies mid-response still
        // leaves the item in the conversation log; the finished version follows at the end.
        this.persistItem(item);
        return prev;
      },
      previousOf: (id) => this.conversation.previousOf(id),
      audioProgress: (id, audioMs) => {
        const entry = this.conversation.get(id);
        if (entry) entry.meta.audioMs = audioMs;
      },
      itemChanged: (item, extra) => {
        const entry = this.conversation.get(item.id);
        if (entry && extra?.audioMs !== undefined) entry.meta.audioMs = extra.audioMs;
        this.persistItem(item);
      },
      firstText: () => {
        this.turn.textAt = Date.now();
        if (this.turn.transcriptAt) metrics.turnPhaseSeconds.observe({ phase: 'llm' }, (this.turn.textAt - this.turn.transcriptAt) / 1000);
      },
      firstAudio: () => {
        this.audioProduced = true;
        const now = Date.now();
        this.firstAudioAt = now;
        if (this.turn.textAt) metrics.turnPhaseSeconds.observe({ phase: 'tts' }, (now - this.turn.textAt) / 1000);
        if (this.turn.speechEndAt) metrics.turnPhaseSeconds.observe({ phase: 'total' }, (now - this.turn.speechEndAt) / 1000);
        this.turn = {};
      },
      finished: (run) => {
        this.responses.delete(run.id);
        if (this.activeResponse === run) this.activeResponse = null;
        metrics.responses.inc({ status: run.status });
        if (run.p.conversation === 'auto' || run.status !== 'cancelled') this.sendRateLimits();
        if (run.p.conversation === 'auto' && run.status === 'completed') this.armIdleTimeout(run);
      },
    };
  }

  /** After response.done: the session's request budget in the current window. */
  private sendRateLimits(): void {
    const limit = this.responseLimit();
    this.deps.limiter
      .used('responses', this.id, limit)
      .catch(() => 0)
      .then((used) => this.send({ type: 'rate_limits.updated', rate_limits: [{ name: 'requests', limit, remaining: Math.max(0, limit - used), reset_seconds: 60 }] }))
      .catch(() => undefined);
  }

  private expire(): void {
    if (this.closed) return;
    const ms = this.deps.config.gateway.sessionMaxMs;
    const span = ms % 60_000 === 0 ? `${ms / 60_000} minutes` : `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)} seconds`;
    this.sendError(new ClientRequestError('session_expired', `Your session hit the maximum duration of ${span}.`), null);
    this.conn.close(1000, 'session_expired');
  }

  /**
   * server_vad `idle_timeout_ms`: if nobody speaks within that time after the assistant's answer
   * has finished playing (response.done + its audio length), a response is triggered anyway.
   */
  armIdleTimeout(run: ResponseRun): void {
    this.disarmIdleTimeout();
    const td = this.config.turn_detection;
    if (td?.type !== 'server_vad' || !td.idle_timeout_ms || this.closed) return;
    const playbackLeft = Math.max(0, this.firstAudioAt + run.audioMs - Date.now());
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      this.ingest.control({ op: 'commit', clientEventId: null, idleTimeout: true }).catch((err: unknown) => this.log.warn({ err: errorMessage(err) }, 'idle timeout commit failed'));
    }, td.idle_timeout_ms + playbackLeft);
    this.idleTimer.unref();
  }

  disarmIdleTimeout(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  /** True while a response runs or input waits to be published (a draining gateway waits). */
  get busy(): boolean {
    return [...this.responses.values()].some((r) => r.active) || this.ingest.busy;
  }

  /**
   * The socket closed: stop everything this session started. `final` (the client said goodbye)
   * ends the session for good; otherwise (network drop, gateway shutdown) its state stays in KV so
   * the client can resume it elsewhere, and the janitor ends it if nobody does within the TTL.
   */
  async close(reason: string, final: boolean): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.expiryTimer);
    this.disarmIdleTimeout();
    this.deps.liveness.untrack(this.id, final);
    for (const run of this.responses.values()) {
      if (run.active) this.deps.cancels.publish({ sessionId: this.id, responseId: run.id, reason: 'session_closed' });
    }
    this.responses.clear();
    await this.ingest.close(final);
    await this.saving;
    if (!final) return;
    this.record({ kind: 'session.closed', sessionId: this.id, reason, at: Date.now() }, `${this.id}:closed`);
    await this.deps.store.remove(this.id).catch((err: unknown) => this.log.warn({ err: errorMessage(err) }, 'session state removal failed'));
  }
}
