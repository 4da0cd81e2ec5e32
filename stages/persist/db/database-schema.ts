// Owns the kysely typing of the conversation tables (what migrations.ts creates).
// Column names are the SQL snake_case names; conversation-log.ts maps them to
// the camelCase rows the rest of Parley uses.
import type { ColumnType } from 'kysely';

export type ItemType = 'message' | 'function_call' | 'function_call_output';

/** timestamptz: both pg and PGlite parse it to Date and accept Date on the way in. */
type Timestamp = ColumnType<Date, Date, Date>;

export interface SessionsTable {
  session_id: string;
  tenant_id: string;
  model: string | null;
  created_at: Timestamp;
  closed_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  close_reason: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface ConversationItemsTable {
  item_id: string;
  session_id: string;
  tenant_id: string;
  /** Ordering key within a session (double precision so items can be slotted between others). */
  position: number;
  type: ItemType;
  role: string | null;
  status: string;
  // Written as a JSON string: pg would turn a JS array parameter into a Postgres
  // array literal, not JSON. Read back as the parsed array by both drivers.
  content: ColumnType<unknown[], string | undefined, string>;
  transcript: string | null;
  call_id: string | null;
  name: string | null;
  arguments: string | null;
  output: string | null;
  /** Monotonic per item; writes carrying an older version are ignored. */
  version: number;
  created_at: Timestamp;
  updated_at: Timestamp;
  deleted_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
}

export interface DatabaseSchema {
  sessions: SessionsTable;
  conversation_items: ConversationItemsTable;
}
