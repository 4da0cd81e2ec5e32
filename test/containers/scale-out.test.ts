// [containers] Parley scaled out as a deployment runs it: 2 gateway processes and 2 processes of each
// stage (vad, stt, llm, tts, persist), every one `node ops/cli.ts …` against the NATS and PostgreSQL
// containers. 12 sessions, spread over both gateways, each speak a turn; in the middle one VAD worker
// (while the users speak) and one STT worker (with an utterance in hand, when it gets one) are
// SIGKILLed. Every session must complete its turn, be answered with its own words, and every item
// reach PostgreSQL exactly once: VAD partitions are taken over through their leases, STT jobs are
// redelivered after their ack wait (shorter than the gateway's wait for a transcript).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { backendLabel, resolveBackend } from './support/backend.ts';
import { startNats, type NatsDeployment } from './support/nats.ts';
import { startPostgres, type PostgresDeployment } from './support/postgres.ts';
import { spawnRole, type ParleyTarget, type RoleProcess } from './support/parley.ts';
import { assertPersistedExactlyOnce, eventsSince, openSession, speakTurn, type Session } from './support/turns.ts';
import { synthesizeSpeech } from '../support/speech.ts';

const backend = await resolveBackend();
const SCHEMA = 'parley_scale';
const SESSIONS = 12;
const STAGES = ['vad', 'stt', 'llm', 'tts', 'persist'] as const;
/** A turn whose utterance died with its STT worker waits for the redelivery (the consumer's ack wait) and for the VAD takeover. */
const TURN_TIMEOUT_MS = 60_000;
let nats: NatsDeployment | undefined;
let pg: PostgresDeployment | undefined;
let runDir = '';
const roles = new Map<string, RoleProcess>();
let speech: Uint8Array;

before(async () => {
  runDir = await mkdtemp(path.join(os.tmpdir(), 'parley-scale-'));
  [nats, pg, speech] = await Promise.all([startNats(backend, { nodes: 1 }), startPostgres(backend), synthesizeSpeech('Hello, what is the weather like today?')]);
  const target: ParleyTarget = { natsUrls: nats.urls, db: { url: pg.url, schema: SCHEMA } };
  // One process first: it creates the streams and runs the migrations; the rest then start together.
  roles.set('persist-1', await spawnRole('persist-1', ['stage', 'persist'], target, runDir));
  const rest: Array<[string, string[]]> = [
    ['gw-1', ['gateway']],
    ['gw-2', ['gateway']],
    ...STAGES.flatMap((s) => [1, 2].map((n) => [`${s}-${n}`, ['stage', s]] as [string, string[]])).filter(([name]) => name !== 'persist-1'),
  ];
  const started = await Promise.allSettled(rest.map(([name, args]) => spawnRole(name, args, target, runDir)));
  for (const r of started) if (r.status === 'fulfilled') roles.set(r.value.name, r.value);
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason; // after() stops the ones that did start
});
after(async () => {
  await Promise.allSettled([...roles.values()].map((r) => r.stop()));
  await Promise.allSettled([nats?.stop(), pg?.close()]);
  if (runDir && !process.env['PARLEY_TEST_KEEP']) await rm(runDir, { recursive: true, force: true });
});

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function sttInflight(r: RoleProcess): Promise<number> {
  const text = await fetch(`http://127.0.0.1:${r.port}/metrics`).then((res) => res.text(), () => '');
  return Number(/parley_stage_inflight\{stage="stt"\} (\d+)/.exec(text)?.[1] ?? 0);
}

describe(`scale-out: 2 gateways + 2 workers per stage as processes, workers SIGKILLed mid-turn ${backendLabel(backend)}`, () => {
  it(`${SESSIONS} concurrent sessions each complete a spoken turn with their own words; kill -9 of a VAD and an STT worker loses and duplicates nothing`, { timeout: 300_000 }, async (t) => {
    const gateways = [roles.get('gw-1')!.gateway!, roles.get('gw-2')!.gateway!];
    const sessions: Session[] = await Promise.all(Array.from({ length: SESSIONS }, (_, i) => openSession(gateways[i % 2]!)));
    const kills: Record<string, number> = {};
    const killer = (async () => {
      // VAD: once half the users are speaking.
      while (sessions.filter((s) => s.client.types().includes('input_audio_buffer.speech_started')).length < SESSIONS / 2) await new Promise((r) => setTimeout(r, 20));
      roles.get('vad-1')!.kill();
      kills['vad-1'] = performance.now();
      // STT: as soon as stt-1 holds an utterance (or, failing that within 15 s, anyway).
      const deadline = performance.now() + 15_000;
      let inflight = 0;
      while (performance.now() < deadline && (inflight = await sttInflight(roles.get('stt-1')!)) === 0) await new Promise((r) => setTimeout(r, 25));
      roles.get('stt-1')!.kill();
      kills['stt-1'] = performance.now();
      t.diagnostic(`vad-1 killed while users spoke; stt-1 killed ${seconds(kills['stt-1'] - kills['vad-1'])} later holding ${inflight} utterance(s)`);
    })();
    const results = await Promise.allSettled(
      sessions.map(async (s, i) => {
        await new Promise((r) => setTimeout(r, i * 150));
        return speakTurn(s, speech, TURN_TIMEOUT_MS).catch((err: unknown) => {
          throw new Error(`session ${s.id} (gateway ${(i % 2) + 1}): ${(err as Error).message}\nevents: ${eventsSince(s)}`);
        });
      }),
    );
    await killer;
    const latencies = sessions.map((s) => (s.turns[0] ? s.turns[0].doneAt - s.turns[0].speechEndAt : NaN));
    t.diagnostic(`end of speech -> response.done per session: ${latencies.map(seconds).join(', ')}`);
    const transcribed = sessions.map((s) => {
      const tr = s.client.events.find((e) => e.event.type === 'conversation.item.input_audio_transcription.completed');
      return tr && s.turns[0] ? tr.at - s.turns[0].speechEndAt : NaN;
    });
    t.diagnostic(`end of speech -> transcript per session: ${transcribed.map(seconds).join(', ')}`);
    if (process.env['PARLEY_TEST_KEEP']) t.diagnostic(`role logs kept in ${runDir}`);
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    assert.equal(failed.length, 0, `${failed.length} of ${SESSIONS} sessions did not complete their turn:\n${failed.map((f) => (f.reason as Error).message).join('\n')}`);
    for (const s of sessions) assert.equal(s.turns[0]!.answer, `You said: ${s.turns[0]!.transcript}`, `${s.id} was answered without its user's words`);
    const catchUp = await assertPersistedExactlyOnce({ url: pg!.url, schema: SCHEMA }, sessions, 30_000);
    t.diagnostic(`all ${SESSIONS * 2} items in PostgreSQL ${seconds(catchUp)} after the last turn`);
    await Promise.all(sessions.map((s) => s.client.close()));
  });
});
