// Owns the writes and reads of the conversation log (sessions and their items).
// Every write is idempotent and version-guarded, because events arrive at least
// once and possibly out of order: replaying any batch converges to the same rows.
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { DatabaseSchema } from './database-schema.ts';
import { fromItemColumns, onePerKey, statementChunks, toItemColumns, type ItemRow } from './item-rows.ts';

export type { ItemRow, ItemType } from './item-rows.ts';

export interface ItemDeletion {
  itemId: string;
  sessionId: string;
  /** The item's version after deletion; applied only if newer than the stored one. */
  version: number;
  at: Date;
}

export interface SessionStart {
  sessionId: string;
  tenantId: string;
  model: string | null;
  createdAt: Date;
}

export interface SessionClose {
  sessionId: string;
  closedAt: Date;
  reason: string;
}

export interface ListItemsOptions {
  /** Default 100. */
  limit?: number;
  /** Soft-deleted items are hidden unless this is true. */
  includeDeleted?: boolean;
}

export interface ConversationLog {
  upsertItems(rows: ItemRow[]): Promise<void>;
  deleteItems(rows: ItemDeletion[]): Promise<void>;
  upsertSessions(rows: SessionStart[]): Promise<void>;
  closeSessions(rows: SessionClose[]): Promise<void>;
  listItems(sessionId: string, opts?: ListItemsOptions): Promise<ItemRow[]>;
}

const DEFAULT_LIST_LIMIT = 100;
const ITEM_COLUMN_COUNT = 17;

// A batch larger than one statement allows is split; each chunk is idempotent,
// so a caller that retries after a partial failure still converges.
export function createConversationLog(db: Kysely<DatabaseSchema>): ConversationLog {
  return {
    async upsertItems(rows) {
      const newest = onePerKey(rows, (row) => row.itemId, (a, b) => a.version >= b.version);
      for (const chunk of statementChunks(newest, ITEM_COLUMN_COUNT)) await upsertItemChunk(db, chunk);
    },

    async deleteItems(rows) {
      const newest = onePerKey(rows, (row) => row.itemId, (a, b) => a.version >= b.version);
      for (const chunk of statementChunks(newest, 4)) {
        const values = valuesList(
          chunk.map((r) => sql`(${r.itemId}::text, ${r.sessionId}::text, ${r.version}::integer, ${r.at}::timestamptz)`),
        );
        // Keeps the first deletion time; the version bump makes later replays of
        // older upserts bounce off the tombstone.
        await sql`
          update conversation_items as c
          set deleted_at = coalesce(c.deleted_at, v.at), updated_at = v.at, version = v.version
          from ${values} as v(item_id, session_id, version, at)
          where c.item_id = v.item_id and c.session_id = v.session_id and c.version < v.version
        `.execute(db);
      }
    },

    async upsertSessions(rows) {
      const unique = onePerKey(rows, (row) => row.sessionId, () => false);
      for (const chunk of statementChunks(unique, 4)) {
        await db
          .insertInto('sessions')
          .values(chunk.map((r) => ({ session_id: r.sessionId, tenant_id: r.tenantId, model: r.model, created_at: r.createdAt })))
          .onConflict((oc) => oc.column('session_id').doNothing())
          .execute();
      }
    },

    async closeSessions(rows) {
      const earliest = onePerKey(rows, (row) => row.sessionId, (a, b) => a.closedAt < b.closedAt);
      for (const chunk of statementChunks(earliest, 3)) {
        const values = valuesList(chunk.map((r) => sql`(${r.sessionId}::text, ${r.closedAt}::timestamptz, ${r.reason}::text)`));
        // First close wins, so a redelivered close never rewrites the reason.
        await sql`
          update sessions as s
          set closed_at = v.closed_at, close_reason = v.reason
          from ${values} as v(session_id, closed_at, reason)
          where s.session_id = v.session_id and s.closed_at is null
        `.execute(db);
      }
    },

    async listItems(sessionId, opts = {}) {
      const limit = opts.limit ?? DEFAULT_LIST_LIMIT;
      if (!Number.isInteger(limit) || limit < 0) throw new Error(`limit must be a non-negative integer, got ${limit}`);
      const rows = await db
        .selectFrom('conversation_items')
        .selectAll()
        .where('session_id', '=', sessionId)
        .$if(!opts.includeDeleted, (qb) => qb.where('deleted_at', 'is', null))
        .orderBy('position')
        .orderBy('item_id') // deterministic order if two items share a position
        .limit(limit)
        .execute();
      return rows.map(fromItemColumns);
    },
  };
}

async function upsertItemChunk(db: Kysely<DatabaseSchema>, rows: ItemRow[]): Promise<void> {
  if (rows.length === 0) return;
  await db
    .insertInto('conversation_items')
    .values(rows.map(toItemColumns))
    .onConflict((oc) =>
      oc
        .column('item_id')
        .doUpdateSet((eb) => ({
          position: eb.ref('excluded.position'),
          type: eb.ref('excluded.type'),
          role: eb.ref('excluded.role'),
          status: eb.ref('excluded.status'),
          content: eb.ref('excluded.content'),
          transcript: eb.ref('excluded.transcript'),
          call_id: eb.ref('excluded.call_id'),
          name: eb.ref('excluded.name'),
          arguments: eb.ref('excluded.arguments'),
          output: eb.ref('excluded.output'),
          version: eb.ref('excluded.version'),
          updated_at: eb.ref('excluded.updated_at'),
          // A deleted item stays deleted; created_at keeps the first write's value.
          deleted_at: eb.fn.coalesce('conversation_items.deleted_at', 'excluded.deleted_at'),
        }))
        // <= makes a replay of the same version a rewrite of identical values.
        // Matching session and tenant stops a client-chosen item_id that collides
        // with another tenant's item from overwriting it.
        .where((eb) =>
          eb.and([
            eb('conversation_items.version', '<=', eb.ref('excluded.version')),
            eb('conversation_items.session_id', '=', eb.ref('excluded.session_id')),
            eb('conversation_items.tenant_id', '=', eb.ref('excluded.tenant_id')),
          ]),
        ),
    )
    .execute();
}

/** `(values (...), (...))` — a typed inline table for multi-row UPDATE ... FROM. */
function valuesList(rows: RawBuilder<unknown>[]): RawBuilder<unknown> {
  return sql`(values ${sql.join(rows)})`;
}
