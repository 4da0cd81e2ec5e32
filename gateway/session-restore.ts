// Resuming a session on another gateway (its gateway died, or drained for a deploy): the session's
// config comes from the sessions KV bucket, its conversation from the conversation log in
// JetStream, and the position of its audio timeline from the last message on its audio subject.
import { DeliverPolicy } from '@nats-io/jetstream';
import type { Bus } from '../lib/nats/bus.ts';
import { decodeJson } from '../lib/nats/publish.ts';
import type { SessionStore } from '../lib/session-store.ts';
import { HEADER, validators, type ConversationItem, type PersistedItem, type SessionRecord } from '../schemas/index.ts';
import { partitionOf } from '../subjects/index.ts';

export interface RestoredItem {
  readonly item: ConversationItem;
  readonly position: number;
  readonly version: number;
}

export interface RestoredSession {
  readonly record: SessionRecord;
  readonly revision: number;
  readonly items: RestoredItem[];
  readonly ingest: { readonly nextSeq: number; readonly nextOffset: number };
}

export function toConversationItem(p: PersistedItem): ConversationItem {
  const status = p.status === 'in_progress' || p.status === 'incomplete' ? p.status : 'completed';
  switch (p.type) {
    case 'message':
      return { id: p.id, object: 'realtime.item', type: 'message', status, role: (p.role ?? 'user') as 'user' | 'assistant' | 'system', content: p.content as never };
    case 'function_call':
      return { id: p.id, object: 'realtime.item', type: 'function_call', status, call_id: p.callId ?? '', name: p.name ?? '', arguments: p.arguments ?? '' };
    case 'function_call_output':
      return { id: p.id, object: 'realtime.item', type: 'function_call_output', status, call_id: p.callId ?? '', output: p.output ?? '' };
    default: {
      const never: never = p.type;
      return never;
    }
  }
}

/** Fold the session's conversation log into its current items, in order. */
async function readConversation(bus: Bus, sessionId: string): Promise<RestoredItem[]> {
  const stream = bus.cat.streams.conversation;
  const subject = bus.cat.subjects.conversation(sessionId);
  const last = await bus.jsm.streams.getMessage(stream, { last_by_subj: subject }).catch(() => null);
  if (!last) return [];
  const consumer = await bus.js.consumers.get(stream, { filter_subjects: subject, deliver_policy: DeliverPolicy.All });
  const items = new Map<string, RestoredItem | null>();
  for (let done = false; !done; ) {
    const batch = await consumer.fetch({ max_messages: 1_000, expires: 2_000 });
    let got = 0;
    for await (const m of batch) {
      got++;
      const body = decodeJson(m.data);
      const rec = validators.conversationRecord.check(body) ? body : null;
      if (rec?.kind === 'item.upserted') {
        const prev = items.get(rec.item.id);
        if (prev === undefined || (prev !== null && prev.version <= rec.version)) items.set(rec.item.id, { item: toConversationItem(rec.item), position: rec.position, version: rec.version });
      } else if (rec?.kind === 'item.deleted') {
        items.set(rec.itemId, null);
      }
      if (m.seq >= last.seq) {
        done = true;
        break;
      }
    }
    if (got === 0) done = true;
  }
  return [...items.values()].filter((i): i is RestoredItem => i !== null).sort((a, b) => a.position - b.position);
}

/** Where the session's audio timeline stands: the next per-session seq and sample offset. */
async function readIngestPosition(bus: Bus, sessionId: string): Promise<{ nextSeq: number; nextOffset: number }> {
  const subject = bus.cat.subjects.audio(partitionOf(sessionId, bus.cat.partitions), sessionId);
  const last = await bus.jsm.direct.getMessage(bus.cat.streams.audio, { last_by_subj: subject }).catch(() => null);
  if (!last) return { nextSeq: 0, nextOffset: 0 };
  const seq = Number(last.header?.get(HEADER.seq) ?? -1);
  const offset = Number(last.header?.get(HEADER.offset) ?? 0);
  const samples = last.header?.get(HEADER.kind) === 'audio' ? last.data.length / 2 : 0;
  return { nextSeq: seq + 1, nextOffset: offset + samples };
}

export type RestoreResult = { ok: true; session: RestoredSession } | { ok: false; code: string; message: string };

export async function restoreSession(bus: Bus, store: SessionStore, sessionId: string, tenantId: string): Promise<RestoreResult> {
  const stored = await store.load(sessionId);
  if (!stored || stored.record.tenantId !== tenantId) {
    // The same answer for "gone" and "someone else's": ids are not an oracle across tenants.
    return { ok: false, code: 'session_not_found', message: `Session '${sessionId}' was not found or can no longer be resumed.` };
  }
  const [items, ingest] = await Promise.all([readConversation(bus, sessionId), readIngestPosition(bus, sessionId)]);
  return { ok: true, session: { record: stored.record, revision: stored.revision, items, ingest } };
}
