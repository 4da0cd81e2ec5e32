// Owns the ItemRow shape (one conversation item as Parley sees it) and its
// mapping to and from conversation_items columns, plus the batch helpers the
// conversation log needs to keep single statements valid.
import type { Insertable, Selectable } from 'kysely';
import type { ConversationItemsTable, ItemType } from './database-schema.ts';

export type { ItemType };

export interface ItemRow {
  itemId: string;
  sessionId: string;
  tenantId: string;
  /** Ordering key within the session. */
  position: number;
  type: ItemType;
  role: string | null;
  status: string;
  content: unknown[];
  transcript: string | null;
  callId: string | null;
  name: string | null;
  arguments: string | null;
  output: string | null;
  /** Monotonic per item; a row with a lower version than the stored one is ignored. */
  version: number;
  createdAt: Date;
  updatedAt: Date;
  deletedAt: Date | null;
}

export function toItemColumns(row: ItemRow): Insertable<ConversationItemsTable> {
  return {
    item_id: row.itemId,
    session_id: row.sessionId,
    tenant_id: row.tenantId,
    position: row.position,
    type: row.type,
    role: row.role,
    status: row.status,
    content: JSON.stringify(row.content),
    transcript: row.transcript,
    call_id: row.callId,
    name: row.name,
    arguments: row.arguments,
    output: row.output,
    version: row.version,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
    deleted_at: row.deletedAt,
  };
}

export function fromItemColumns(row: Selectable<ConversationItemsTable>): ItemRow {
  return {
    itemId: row.item_id,
    sessionId: row.session_id,
    tenantId: row.tenant_id,
    position: row.position,
    type: row.type,
    role: row.role,
    status: row.status,
    content: row.content,
    transcript: row.transcript,
    callId: row.call_id,
    name: row.name,
    arguments: row.arguments,
    output: row.output,
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    deletedAt: row.deleted_at,
  };
}

/**
 * One row per key, the one `isPreferred` picks (ties go to the later row).
 * Postgres rejects an INSERT ... ON CONFLICT DO UPDATE that touches the same
 * key twice, and an UPDATE ... FROM with two matches applies an arbitrary one.
 */
export function onePerKey<T>(rows: readonly T[], keyOf: (row: T) => string, isPreferred: (candidate: T, kept: T) => boolean): T[] {
  const kept = new Map<string, T>();
  for (const row of rows) {
    const key = keyOf(row);
    const current = kept.get(key);
    if (current === undefined || isPreferred(row, current)) kept.set(key, row);
  }
  return [...kept.values()];
}

// Postgres caps a statement at 65535 bind parameters; stay well under it.
const MAX_PARAMETERS_PER_STATEMENT = 30_000;

/** Splits a batch so no single statement exceeds the bind-parameter limit. */
export function statementChunks<T>(rows: readonly T[], parametersPerRow: number): T[][] {
  const size = Math.max(1, Math.floor(MAX_PARAMETERS_PER_STATEMENT / parametersPerRow));
  const chunks: T[][] = [];
  for (let start = 0; start < rows.length; start += size) chunks.push(rows.slice(start, start + size));
  return chunks;
}
