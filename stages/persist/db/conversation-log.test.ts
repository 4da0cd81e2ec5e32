// Behaviour table for the conversation log, run unchanged against real
// PostgreSQL and in-memory PGlite: at-least-once, out-of-order delivery must
// converge to the same rows on both.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Kysely } from 'kysely';
import { createConversationLog, type ConversationLog } from './conversation-log.ts';
import type { ConversationDatabase } from './database.ts';
import type { DatabaseSchema } from './database-schema.ts';
import { BACKEND_NAMES, createBackend, makeItem, openBackend, uniqueId, type TestBackend } from './test-backends.ts';

interface Case {
  name: string;
  run(log: ConversationLog, db: Kysely<DatabaseSchema>): Promise<void>;
}

const behaviour: Case[] = [
  {
    name: 're-upserting the same version changes nothing',
    async run(log) {
      const item = makeItem({ itemId: uniqueId('i'), sessionId: uniqueId('s') });
      await log.upsertItems([item]);
      const first = await log.listItems(item.sessionId);
      await log.upsertItems([item]);
      assert.deepEqual(await log.listItems(item.sessionId), first);
      assert.deepEqual(first, [item]);
    },
  },
  {
    name: 'an older version never overwrites a newer one',
    async run(log) {
      const v2 = makeItem({ itemId: uniqueId('i'), sessionId: uniqueId('s'), version: 2, status: 'completed' });
      await log.upsertItems([v2]);
      await log.upsertItems([{ ...v2, version: 1, status: 'in_progress', content: [] }]);
      assert.deepEqual(await log.listItems(v2.sessionId), [v2]);
    },
  },
  {
    name: 'a newer version is applied and created_at is kept',
    async run(log) {
      const v1 = makeItem({ itemId: uniqueId('i'), sessionId: uniqueId('s'), status: 'in_progress' });
      const v2 = { ...v1, version: 2, status: 'completed', transcript: 'hi', createdAt: new Date('2030-01-01T00:00:00Z'), updatedAt: new Date('2025-01-01T00:00:05Z') };
      await log.upsertItems([v1]);
      await log.upsertItems([v2]);
      assert.deepEqual(await log.listItems(v1.sessionId), [{ ...v2, createdAt: v1.createdAt }]);
    },
  },
  {
    name: 'duplicate ids in one batch keep the highest version',
    async run(log) {
      const base = makeItem({ itemId: uniqueId('i'), sessionId: uniqueId('s') });
      const batch = [3, 1, 2].map((version) => ({ ...base, version, status: `v${version}` }));
      await log.upsertItems(batch);
      const [stored] = await log.listItems(base.sessionId);
      assert.equal(stored?.version, 3);
      assert.equal(stored?.status, 'v3');
    },
  },
  {
    name: 'soft delete hides the item and outranks replays of older upserts',
    async run(log) {
      const item = makeItem({ itemId: uniqueId('i'), sessionId: uniqueId('s'), version: 1 });
      const at = new Date('2025-01-01T00:01:00Z');
      await log.upsertItems([item]);
      await log.deleteItems([{ itemId: item.itemId, sessionId: item.sessionId, version: 2, at }]);
      await log.upsertItems([item]); // redelivered create
      assert.deepEqual(await log.listItems(item.sessionId), []);
      const [deleted] = await log.listItems(item.sessionId, { includeDeleted: true });
      assert.deepEqual(deleted, { ...item, version: 2, deletedAt: at, updatedAt: at });
    },
  },
  {
    name: 'a delete that is not newer than the stored version is ignored',
    async run(log) {
      const item = makeItem({ itemId: uniqueId('i'), sessionId: uniqueId('s'), version: 5 });
      await log.upsertItems([item]);
      await log.deleteItems([{ itemId: item.itemId, sessionId: item.sessionId, version: 5, at: new Date() }]);
      await log.deleteItems([{ itemId: item.itemId, sessionId: item.sessionId, version: 4, at: new Date() }]);
      assert.deepEqual(await log.listItems(item.sessionId), [item]);
    },
  },
  {
    name: 'listItems orders by position and honours limit',
    async run(log) {
      const sessionId = uniqueId('s');
      const positions = [3, 1, 2.5, 2, 1.5];
      await log.upsertItems(positions.map((position) => makeItem({ itemId: uniqueId('i'), sessionId, position })));
      await log.upsertItems([makeItem({ itemId: uniqueId('i'), sessionId: uniqueId('other'), position: 0 })]);
      const all = await log.listItems(sessionId);
      assert.deepEqual(all.map((row) => row.position), [1, 1.5, 2, 2.5, 3]);
      const firstTwo = await log.listItems(sessionId, { limit: 2 });
      assert.deepEqual(firstTwo.map((row) => row.position), [1, 1.5]);
    },
  },
  {
    name: 'a transaction that throws leaves nothing behind',
    async run(log, db) {
      const item = makeItem({ itemId: uniqueId('i'), sessionId: uniqueId('s') });
      await assert.rejects(
        db.transaction().execute(async (trx) => {
          await createConversationLog(trx).upsertItems([item]);
          throw new Error('boom');
        }),
        /boom/,
      );
      assert.deepEqual(await log.listItems(item.sessionId, { includeDeleted: true }), []);
    },
  },
  {
    name: 'an item id owned by another session is not overwritten',
    async run(log) {
      const victim = makeItem({ itemId: uniqueId('i'), sessionId: uniqueId('s'), tenantId: 'tenant_a' });
      await log.upsertItems([victim]);
      await log.upsertItems([{ ...victim, sessionId: uniqueId('s'), tenantId: 'tenant_b', version: 9, content: [] }]);
      await log.deleteItems([{ itemId: victim.itemId, sessionId: 'someone_else', version: 10, at: new Date() }]);
      assert.deepEqual(await log.listItems(victim.sessionId), [victim]);
    },
  },
  {
    name: 'function calls and nested JSON content round-trip',
    async run(log) {
      const sessionId = uniqueId('s');
      const call = makeItem({ itemId: uniqueId('i'), sessionId, type: 'function_call', role: null, content: [], callId: 'c1', name: 'lookup', arguments: '{"q":"x"}' });
      const output = makeItem({ itemId: uniqueId('i'), sessionId, position: 2, type: 'function_call_output', role: null, callId: 'c1', output: '{"ok":true}', content: [{ nested: { list: [1, 'dø', null] } }] });
      await log.upsertItems([call, output]);
      assert.deepEqual(await log.listItems(sessionId), [call, output]);
    },
  },
  {
    name: 'a batch larger than one statement allows is split and fully stored',
    async run(log) {
      const sessionId = uniqueId('s');
      const rows = Array.from({ length: 2_500 }, (_, i) => makeItem({ itemId: uniqueId('i'), sessionId, position: i }));
      await log.upsertItems(rows);
      assert.equal((await log.listItems(sessionId, { limit: 5_000 })).length, 2_500);
    },
  },
  {
    name: 'sessions: starts ignore conflicts and the first close wins',
    async run(log, db) {
      const sessionId = uniqueId('s');
      const createdAt = new Date('2025-01-01T00:00:00Z');
      await log.upsertSessions([{ sessionId, tenantId: 'tenant_a', model: 'm1', createdAt }]);
      await log.upsertSessions([{ sessionId, tenantId: 'tenant_a', model: 'm2', createdAt: new Date() }]);
      const closedAt = new Date('2025-01-01T00:10:00Z');
      await log.closeSessions([{ sessionId, closedAt, reason: 'client_closed' }]);
      await log.closeSessions([{ sessionId, closedAt: new Date(), reason: 'timeout' }]);
      const row = await db.selectFrom('sessions').selectAll().where('session_id', '=', sessionId).executeTakeFirstOrThrow();
      assert.deepEqual(row, { session_id: sessionId, tenant_id: 'tenant_a', model: 'm1', created_at: createdAt, closed_at: closedAt, close_reason: 'client_closed' });
    },
  },
];

for (const backendName of BACKEND_NAMES) {
  describe(`conversation log on ${backendName}`, () => {
    let backend: TestBackend;
    let database: ConversationDatabase;
    before(async () => {
      backend = await createBackend(backendName);
      database = await openBackend(backend);
    });
    after(async () => {
      await database?.close();
      await backend?.dispose();
    });
    for (const behaviourCase of behaviour) {
      test(behaviourCase.name, () => behaviourCase.run(createConversationLog(database.db), database.db));
    }
  });
}
