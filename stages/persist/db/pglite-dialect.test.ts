// The PGlite dialect on its own: one connection handed out at a time, so
// transactions never interleave; kysely transactions, savepoints, affected-row
// counts, streaming and shutdown all work as with the pg driver.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, Migrator, sql } from 'kysely';
import { PGliteDialect } from './pglite-dialect.ts';

interface Schema {
  counters: { name: string; value: number };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('PGliteDialect', () => {
  let db: Kysely<Schema>;
  let connectionsCreated = 0;

  before(async () => {
    db = new Kysely<Schema>({
      dialect: new PGliteDialect({
        pglite: () => PGlite.create(),
        onCreateConnection: async () => {
          connectionsCreated += 1;
        },
      }),
    });
    await db.schema.createTable('counters').addColumn('name', 'text', (c) => c.primaryKey()).addColumn('value', 'integer', (c) => c.notNull()).execute();
  });
  after(() => db.destroy());

  test('prepares the single connection exactly once', async () => {
    await sql`select 1`.execute(db);
    assert.equal(connectionsCreated, 1);
  });

  test('concurrent transactions run one after another, never interleaved', async () => {
    await db.insertInto('counters').values({ name: 'serial', value: 0 }).execute();
    // Read-modify-write with a pause in the middle: interleaving would lose updates.
    const increment = () =>
      db.transaction().execute(async (trx) => {
        const { value } = await trx.selectFrom('counters').select('value').where('name', '=', 'serial').executeTakeFirstOrThrow();
        await sleep(5);
        await trx.updateTable('counters').set({ value: value + 1 }).where('name', '=', 'serial').execute();
      });
    await Promise.all(Array.from({ length: 10 }, increment));
    const row = await db.selectFrom('counters').select('value').where('name', '=', 'serial').executeTakeFirstOrThrow();
    assert.equal(row.value, 10);
  });

  test('a throwing transaction rolls back and the connection is usable again', async () => {
    await assert.rejects(
      db.transaction().execute(async (trx) => {
        await trx.insertInto('counters').values({ name: 'rolled_back', value: 1 }).execute();
        await trx.insertInto('counters').values({ name: 'rolled_back', value: 2 }).execute(); // duplicate key
      }),
      /duplicate key/,
    );
    assert.equal(await db.selectFrom('counters').where('name', '=', 'rolled_back').selectAll().executeTakeFirst(), undefined);
    await sql`select 1`.execute(db);
  });

  test('savepoints roll back part of a transaction', async () => {
    const trx = await db.startTransaction().execute();
    await trx.insertInto('counters').values({ name: 'outer', value: 1 }).execute();
    const inner = await trx.savepoint('inner "odd" name').execute();
    await inner.insertInto('counters').values({ name: 'inner', value: 1 }).execute();
    await inner.rollbackToSavepoint('inner "odd" name').execute();
    await trx.commit().execute();
    const names = await db.selectFrom('counters').select('name').where('name', 'in', ['outer', 'inner']).execute();
    assert.deepEqual(names, [{ name: 'outer' }]);
  });

  test('reports affected rows for DML only', async () => {
    await db.insertInto('counters').values([{ name: 'a1', value: 0 }, { name: 'a2', value: 0 }]).execute();
    const [update] = await db.updateTable('counters').set({ value: 7 }).where('name', 'in', ['a1', 'a2']).execute();
    assert.equal(update?.numUpdatedRows, 2n);
    const { numAffectedRows } = await sql`select 1`.execute(db);
    assert.equal(numAffectedRows, undefined);
  });

  test('stream yields all rows in chunks', async () => {
    const names = Array.from({ length: 25 }, (_, i) => `stream_${String(i).padStart(2, '0')}`);
    await db.insertInto('counters').values(names.map((name) => ({ name, value: 0 }))).execute();
    const seen: string[] = [];
    const query = db.selectFrom('counters').select('name').where('name', 'like', 'stream_%').orderBy('name');
    for await (const row of query.stream(10)) seen.push(row.name);
    assert.deepEqual(seen, names);
  });

  test("kysely's Migrator runs and records migrations", async () => {
    const migrator = new Migrator({
      db,
      provider: { getMigrations: async () => ({ '0001_t': { up: (m: Kysely<any>) => m.schema.createTable('migrated').addColumn('id', 'integer').execute() } }) },
    });
    const first = await migrator.migrateToLatest();
    assert.equal(first.error, undefined);
    assert.deepEqual(first.results?.map((r) => r.status), ['Success']);
    const again = await migrator.migrateToLatest();
    assert.deepEqual(again.results, []);
  });
});

describe('PGliteDialect shutdown', () => {
  test('destroy waits for an open transaction, then queries are refused', async () => {
    const db = new Kysely<Schema>({ dialect: new PGliteDialect({ pglite: () => PGlite.create() }) });
    await sql`select 1`.execute(db); // PGlite is up, so only the transaction is pending below
    const events: string[] = [];
    let started!: () => void;
    const transactionStarted = new Promise<void>((resolve) => (started = resolve));
    const trx = db.transaction().execute(async (t) => {
      await sql`select 1`.execute(t);
      started();
      await sleep(30);
      events.push('transaction done');
    });
    await transactionStarted;
    await db.destroy();
    events.push('destroyed');
    await trx;
    assert.deepEqual(events, ['transaction done', 'destroyed']);
    await assert.rejects(sql`select 1`.execute(db));
  });
});
