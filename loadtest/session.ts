// Drives one Realtime session in a worker: connect, session.update (transcription + server_vad),
// then per turn a natural pause, one utterance at real-time pace and silence until the answer is
// done; records the turn's timestamps, counts errors by kind and notices a dropped socket.
// Nothing here is Parley-specific: the same driver runs against OpenAI's own endpoint.
import { seededRandom } from '../test/support/random.ts';
import { createAudioPump, type AudioPump, type EncodedAudio } from './audio-pump.ts';
import { dialRealtime, type RealtimeSocket, type ServerEvent } from './socket.ts';
import { createTurnTracker } from './turn-tracker.ts';
import type { FromWorker, LoadtestConfig, SessionRecord, TurnRecord, TurnStatus, Utterance } from './types.ts';

const CONNECT_TIMEOUT_MS = 15_000;
const TRANSCRIPT_GRACE_MS = 3_000;

export interface LoadedUtterance {
  readonly meta: Utterance;
  readonly audio: EncodedAudio;
}

export interface SessionContext {
  readonly config: LoadtestConfig;
  readonly session: number;
  readonly worker: number;
  readonly corpus: readonly LoadedUtterance[];
  readonly now: () => number;
  readonly signal: AbortSignal;
  readonly emit: (msg: FromWorker) => void;
}

type Outcome<T> = { readonly kind: 'value'; readonly value: T } | { readonly kind: 'timeout' | 'aborted' | 'closed' };

/**
 * Waits for `p` (or, without one, just for `ms`), at most `ms`, and not past an abort or the socket's
 * close. Listeners are removed when it settles, so nothing piles up on the long-lived signals.
 */
function within<T>(p: Promise<T> | undefined, ms: number, signal: AbortSignal, closed: AbortSignal): Promise<Outcome<T>> {
  if (signal.aborted) return Promise.resolve({ kind: 'aborted' });
  if (closed.aborted) return Promise.resolve({ kind: 'closed' });
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const finish = (o: Outcome<T>) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      closed.removeEventListener('abort', onClosed);
      resolve(o);
    };
    const onAbort = () => finish({ kind: 'aborted' });
    const onClosed = () => finish({ kind: 'closed' });
    signal.addEventListener('abort', onAbort, { once: true });
    closed.addEventListener('abort', onClosed, { once: true });
    if (Number.isFinite(ms)) timer = setTimeout(() => finish({ kind: 'timeout' }), ms);
    // Only the audio pump rejects, when its socket is gone.
    p?.then((value) => finish({ kind: 'value', value }), onClosed);
  });
}

function sessionUpdate(c: LoadtestConfig): Record<string, unknown> {
  return {
    type: 'session.update',
    session: {
      type: 'realtime',
      ...(c.instructions ? { instructions: c.instructions } : {}),
      audio: {
        input: {
          transcription: { model: c.transcriptionModel },
          turn_detection: { type: 'server_vad', silence_duration_ms: c.vadSilenceMs },
        },
      },
    },
  };
}

interface Waiting {
  readonly seen: Map<string, ServerEvent>;
  waiters: Array<(ev: ServerEvent) => boolean>;
}

/** Resolves with the first event of `type` the session has seen, or the next one to come. */
function waitForEvent(waiting: Waiting, type: string): Promise<ServerEvent> {
  const seen = waiting.seen.get(type);
  if (seen) return Promise.resolve(seen);
  return new Promise((resolve) => {
    waiting.waiters.push((ev) => (ev.type === type ? (resolve(ev), true) : false));
  });
}

export async function runSession(ctx: SessionContext): Promise<SessionRecord> {
  // The session's own signal: its timers listen here, so the worker's signal holds one listener per session.
  const own = new AbortController();
  const relay = () => own.abort();
  ctx.signal.addEventListener('abort', relay, { once: true });
  try {
    return await driveSession({ ...ctx, signal: own.signal });
  } finally {
    ctx.signal.removeEventListener('abort', relay);
  }
}

async function driveSession(ctx: SessionContext): Promise<SessionRecord> {
  const { config, session, worker, now, signal } = ctx;
  const rec: SessionRecord = { session, worker, startedAt: now(), turnsCompleted: 0, dropped: false, failed: false, errors: {} };
  const random = seededRandom(config.seed * 1_000_003 + session);
  let turnRec: TurnRecord | undefined;
  const countError = (kind: string, message: string) => {
    rec.errors[kind] = (rec.errors[kind] ?? 0) + 1;
    if (turnRec) turnRec.errors++;
    ctx.emit({ type: 'error', session, kind, message });
  };

  let sock: RealtimeSocket;
  try {
    sock = await dialRealtime({ ...config, timeoutMs: CONNECT_TIMEOUT_MS, now });
  } catch (err) {
    countError('connect', err instanceof Error ? err.message : String(err));
    return { ...rec, failed: true, failure: 'connect failed', endedAt: now() };
  }
  const waiting: Waiting = { seen: new Map(), waiters: [] };
  let onTurnEvent: (ev: ServerEvent, at: number) => void = () => undefined;
  sock.onSocketError((err) => countError(`socket:${err.message}`, err.message));
  sock.onEvent((ev, at) => {
    if (ev.type === 'error') {
      const e = (ev['error'] ?? {}) as Record<string, unknown>;
      countError(`event:${String(e['code'] ?? e['type'] ?? 'unknown')}`, String(e['message'] ?? ''));
    } else if (ev.type === 'conversation.item.input_audio_transcription.failed') {
      countError('event:transcription_failed', JSON.stringify(ev['error'] ?? {}));
    }
    if (!rec.connectedAt && !waiting.seen.has(ev.type)) waiting.seen.set(ev.type, ev);
    waiting.waiters = waiting.waiters.filter((w) => !w(ev));
    onTurnEvent(ev, at);
  });

  let pump: AudioPump | undefined;
  let failure: string | undefined;
  try {
    const created = await within(waitForEvent(waiting, 'session.created'), CONNECT_TIMEOUT_MS, signal, sock.closedSignal);
    if (created.kind !== 'value') throw new Error(`no session.created (${created.kind})`);
    const updated = waitForEvent(waiting, 'session.updated');
    sock.send(sessionUpdate(config));
    if ((await within(updated, CONNECT_TIMEOUT_MS, signal, sock.closedSignal)).kind !== 'value') throw new Error('no session.updated');
    rec.connectedAt = now();
    ctx.emit({ type: 'connected', session });
    // From here on the microphone is always on: silence, then each utterance at real-time pace.
    const mic = createAudioPump({ chunkMs: config.chunkMs, noiseDbfs: config.noiseDbfs, now, signal, send: (message) => sock.sendRaw(message) });
    pump = mic;
    const planned = config.durationMs === undefined ? config.turns : Infinity;
    for (let t = 0; t < planned && !signal.aborted; t++) {
      if (config.durationMs !== undefined && now() >= config.durationMs) break;
      const [lo, hi] = config.pauseMs;
      if ((await within(undefined, lo + random() * (hi - lo), signal, sock.closedSignal)).kind !== 'timeout') break; // silence flows meanwhile
      const utt = ctx.corpus[Math.floor(random() * ctx.corpus.length)]!;
      turnRec = { session, worker, turn: t, utterance: utt.meta.id, status: 'incomplete', audioStart: NaN, audioEnd: NaN, audioBytes: 0, audioMs: 0, responses: 0, cancelled: 0, speechSegments: 0, errors: 0 };
      const status = await runTurn(turnRec, utt, mic);
      turnRec.frameLag = mic.takeLag();
      ctx.emit({ type: 'turn', record: turnRec });
      turnRec = undefined;
      if (status === 'completed') rec.turnsCompleted++;
      else if (status !== 'aborted') countError(`turn:${status}`, `turn ${t} ended ${status}`);
      if (status === 'dropped' || status === 'aborted') break;
    }
    if (config.durationMs === undefined && rec.turnsCompleted < config.turns) failure = `${rec.turnsCompleted}/${config.turns} turns completed`;
  } catch (err) {
    failure = err instanceof Error ? err.message : String(err);
  }
  await pump?.stop();
  const close = await sock.close();
  rec.endedAt = close.at;
  // Dropped: the server or the network closed a session that was up; before that, it was refused.
  rec.dropped = !close.expected && rec.connectedAt !== undefined;
  if (!close.expected) countError(`close:${close.code}`, `socket closed by the server or network: ${close.code} ${close.reason}`);
  rec.failed = Boolean(failure) || rec.dropped || Object.keys(rec.errors).length > 0;
  if (rec.failed) rec.failure = failure ?? (rec.dropped ? 'dropped' : 'errors');
  return rec;

  async function runTurn(r: TurnRecord, utt: LoadedUtterance, mic: AudioPump): Promise<TurnStatus> {
    const tracker = createTurnTracker(r);
    onTurnEvent = tracker.onEvent;
    const played = await within(mic.play(utt.audio), Infinity, signal, sock.closedSignal);
    if (played.kind === 'value') tracker.audioEnded(played.value.audioStart, played.value.audioEnd);
    let outcome: Outcome<unknown> = played;
    if (played.kind === 'value') outcome = await within(tracker.done, config.turnTimeoutMs, signal, sock.closedSignal);
    if (outcome.kind === 'value') await within(tracker.transcript, TRANSCRIPT_GRACE_MS, signal, sock.closedSignal);
    onTurnEvent = () => undefined;
    const status: TurnStatus = outcome.kind === 'value' ? 'completed' : outcome.kind === 'closed' ? 'dropped' : outcome.kind;
    return tracker.finish(status).status;
  }
}
