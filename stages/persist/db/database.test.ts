// openDatabase on both backends: migrations are idempotent across reopen,
// concurrent starters don't trip over each other, and the handle's lifecycle
// (ping, close) behaves.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { sql } from 'kysely';
import { acquireTestPostgres } from '../../../test/support/postgres.ts';
import { openDatabase, type ConversationDatabase, type OpenDatabaseOptions } from './database.ts';

async function appliedMigrations(database: ConversationDatabase): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(database.db);
  return rows.map((row) => row.name);
}

async function insertSession(database: ConversationDatabase, sessionId: string): Promise<void> {
  await database.db.insertInto('sessions').values({ session_id: sessionId, tenant_id: 't', model: null, created_at: new Date() }).execute();
}

async function assertReopenKeepsData(options: OpenDatabaseOptions, kind: ConversationDatabase['kind']): Promise<void> {
  const first = await openDatabase(options);
  assert.equal(first.kind, kind);
  await first.ping();
  await insertSession(first, 'kept');
  await first.close();

  const second = await openDatabase(options); // migrations already applied: must be a no-op
  try {
    assert.deepEqual(await appliedMigrations(second), ['0001_conversations']);
    const sessions = await second.db.selectFrom('sessions').select('session_id').execute();
    assert.deepEqual(sessions, [{ session_id: 'kept' }]);
  } finally {
    await second.close();
  }
}

describe('openDatabase on pglite', () => {
  const dirs: string[] = [];
  after(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

  test('migrations are idempotent across reopen of a data dir', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'parley-pglite-'));
    dirs.push(dataDir);
    await assertReopenKeepsData({ dataDir }, 'pglite');
  });

  test('in-memory databases are independent and migrated', async () => {
    const [a, b] = await Promise.all([openDatabase(), openDatabase()]);
    await insertSession(a, 'only_in_a');
    assert.equal((await b.db.selectFrom('sessions').selectAll().execute()).length, 0);
    await Promise.all([a.close(), b.close()]);
  });

  test('queries after close are rejected', async () => {
    const database = await openDatabase();
    await database.close();
    await assert.rejects(database.ping());
  });
});

describe('openDatabase on postgres', () => {
  const drops: Array<() => Promise<void>> = [];
  after(async () => {
    for (const drop of drops) await drop();
  });

  test('migrations are idempotent across reopen of a schema', async () => {
    const postgres = await acquireTestPostgres();
    drops.push(postgres.drop);
    await assertReopenKeepsData({ url: postgres.url, schema: postgres.schema }, 'postgres');
  });

  test('concurrent starters on a fresh schema both succeed, schema created if missing', async () => {
    const postgres = await acquireTestPostgres();
    const schema = `${postgres.schema}_new`;
    const admin = await openDatabase({ url: postgres.url, schema: postgres.schema });
    drops.push(postgres.drop, async () => {
      await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(admin.db);
      await admin.close();
    });
    const starters = await Promise.all([1, 2, 3].map(() => openDatabase({ url: postgres.url, schema, poolSize: 2 })));
    for (const database of starters) assert.deepEqual(await appliedMigrations(database), ['0001_conversations']);
    await Promise.all(starters.map((database) => database.close()));
  });

  test('every pooled connection uses the schema', async () => {
    const postgres = await acquireTestPostgres();
    drops.push(postgres.drop);
    const database = await openDatabase({ url: postgres.url, schema: postgres.schema, poolSize: 3 });
    try {
      // Three transactions held open at once force three distinct connections.
      const paths = await Promise.all(
        [1, 2, 3].map(() =>
          database.db.transaction().execute(async (trx) => {
            await sql`select pg_sleep(0.05)`.execute(trx);
            return (await sql<{ search_path: string }>`show search_path`.execute(trx)).rows[0]?.search_path;
          }),
        ),
      );
      assert.deepEqual(paths, [postgres.schema, postgres.schema, postgres.schema]);
    } finally {
      await database.close();
    }
  });

  test('rejects schema names that are not plain identifiers', async () => {
    await assert.rejects(openDatabase({ url: 'postgres://unused', schema: 'x"; drop table y; --' }), /invalid schema name/);
  });

  test('surfaces the connection error when the server is unreachable', async () => {
    await assert.rejects(openDatabase({ url: 'postgres://postgres@127.0.0.1:1/none' }), /ECONNREFUSED/);
  });
});
