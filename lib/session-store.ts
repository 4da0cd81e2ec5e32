// Session state in the sessions KV bucket (key `s.<session>`): written by the owning gateway on
// create, update and takeover (compare-and-set on the revision, so two gateways cannot silently
// overwrite each other), read by a gateway resuming the session and by a VAD worker that meets a
// session it has no state for.
import type { KV } from '@nats-io/kv';
import { validators, type SessionRecord } from '../schemas/index.ts';

export interface StoredSession {
  readonly record: SessionRecord;
  readonly revision: number;
}

export class SessionStore {
  constructor(private readonly kv: KV) {}

  static key(sessionId: string): string {
    return `s.${sessionId}`;
  }

  async load(sessionId: string): Promise<StoredSession | null> {
    const entry = await this.kv.get(SessionStore.key(sessionId));
    if (!entry || entry.operation !== 'PUT') return null;
    let body: unknown;
    try {
      body = entry.json();
    } catch {
      return null;
    }
    return validators.sessionRecord.check(body) ? { record: body, revision: entry.revision } : null;
  }

  /** Create (revision undefined) or compare-and-set update; returns the new revision. */
  async save(record: SessionRecord, revision?: number): Promise<number> {
    const value = JSON.stringify(record);
    if (revision === undefined) return this.kv.create(SessionStore.key(record.id), value);
    return this.kv.update(SessionStore.key(record.id), value, revision);
  }

  async remove(sessionId: string): Promise<void> {
    await this.kv.delete(SessionStore.key(sessionId));
  }

  /** Ids of every stored session (an O(sessions) listing: for the janitor's start-up sweep only). */
  async *keys(): AsyncGenerator<string> {
    for await (const k of await this.kv.keys('s.*')) yield k.slice(2);
  }
}
