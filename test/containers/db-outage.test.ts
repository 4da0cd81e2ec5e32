// [containers] PostgreSQL goes away during a conversation. The PostgreSQL container is stopped
// (`docker stop`: fast shutdown, connections cut) after the first turn; the user keeps talking and
// the turns still complete, because persistence is asynchronous through JetStream. The container is
// started again and every item must land in the database exactly once; the catch-up time is printed.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { backendLabel, resolveBackend } from './support/backend.ts';
import { startNats, type NatsDeployment } from './support/nats.ts';
import { startPostgres, type PostgresDeployment } from './support/postgres.ts';
import { startParleyInProcess, type InProcessParley } from './support/parley.ts';
import { assertPersistedExactlyOnce, eventsSince, openSession, speakTurn } from './support/turns.ts';
import { synthesizeSpeech } from '../support/speech.ts';

const backend = await resolveBackend();
const SCHEMA = 'parley_outage';
const TURNS_DURING_OUTAGE = 2;
let nats: NatsDeployment | undefined;
let pgServer: PostgresDeployment | undefined;
let parley: InProcessParley | undefined;
let speech: Uint8Array;

before(async () => {
  [nats, pgServer, speech] = await Promise.all([startNats(backend, { nodes: 1 }), startPostgres(backend), synthesizeSpeech('Hello, what is the weather like today?')]);
  parley = await startParleyInProcess({ natsUrls: nats.urls, db: { url: pgServer.url, schema: SCHEMA } });
});
after(async () => {
  await parley?.stop();
  await Promise.allSettled([nats?.stop(), pgServer?.close()]);
});

async function reachable(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

describe(`PostgreSQL outage during a conversation ${backendLabel(backend)}`, () => {
  it(`turns complete while the database is down; afterwards every item lands exactly once`, { timeout: 180_000 }, async (t) => {
    const db = { url: pgServer!.url, schema: SCHEMA };
    const session = await openSession(parley!);
    await speakTurn(session, speech);
    await assertPersistedExactlyOnce(db, [session], 10_000);

    await pgServer!.stop();
    const downAt = performance.now();
    assert.equal(await reachable(db.url), false, 'the database is really down');
    for (let i = 0; i < TURNS_DURING_OUTAGE; i++) {
      const turn = await speakTurn(session, speech, 30_000).catch(async (err: unknown) => {
        throw new Error(`turn ${i + 2} with the database down: ${(err as Error).message}\nevents: ${eventsSince(session, downAt)}\n${await parley!.logTail()}`);
      });
      t.diagnostic(`turn ${i + 2} with the database down: response.done ${seconds(turn.doneAt - turn.speechEndAt)} after the end of speech`);
    }
    const persistReady = parley!.running.stages.get('persist')?.ready();
    t.diagnostic(`persist stage ready() during the outage: ${String(persistReady)}`);

    await pgServer!.start();
    const upAt = performance.now();
    t.diagnostic(`database down for ${seconds(upAt - downAt)}`);
    const catchUp = await assertPersistedExactlyOnce(db, [session], 60_000);
    t.diagnostic(`all ${session.turns.length * 2} items in PostgreSQL ${seconds(catchUp)} after it came back`);
    assert.equal(persistReady, false, 'the persist stage reported itself not ready while it could not write');
    assert.equal(parley!.running.stages.get('persist')?.ready(), true, 'and ready again afterwards');
    await session.client.close();
  });
});
