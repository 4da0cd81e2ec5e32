// Who is calling: static API keys from PARLEY_API_KEYS (key -> tenant), and ephemeral client
// secrets (`ek_…`) minted by the REST endpoints and kept in a KV bucket until they expire.
import { createHash } from 'node:crypto';
import type { KV } from '@nats-io/kv';
import type { ApiKeyEntry } from '../lib/config.ts';

export interface Principal {
  readonly tenantId: string;
  /** Session defaults baked into an ephemeral key (GA or beta shape, as minted). */
  readonly preset: { readonly iface: 'ga' | 'beta'; readonly session: Record<string, unknown> } | null;
}

export interface EphemeralRecord {
  readonly tenantId: string;
  readonly expiresAt: number; // epoch seconds
  readonly preset: Principal['preset'];
}

export function ephemeralKvKey(secret: string): string {
  return `ek.${createHash('sha256').update(secret).digest('hex')}`;
}

export class Authenticator {
  private readonly keys: Map<string, string>;

  constructor(
    entries: readonly ApiKeyEntry[],
    private readonly ephemeral: KV | undefined,
  ) {
    this.keys = new Map(entries.map((e) => [e.key, e.tenantId]));
  }

  /** Static keys answer synchronously (the common case, no await in the upgrade). */
  staticKey(key: string): Principal | null {
    const tenantId = this.keys.get(key);
    return tenantId ? { tenantId, preset: null } : null;
  }

  async authenticate(key: string): Promise<Principal | null> {
    const fixed = this.staticKey(key);
    if (fixed) return fixed;
    if (!key.startsWith('ek_') || !this.ephemeral) return null;
    const entry = await this.ephemeral.get(ephemeralKvKey(key));
    if (!entry || entry.operation !== 'PUT') return null;
    const rec = entry.json<EphemeralRecord>();
    if (rec.expiresAt * 1000 < Date.now()) return null;
    return { tenantId: rec.tenantId, preset: rec.preset };
  }

  async mint(secret: string, rec: EphemeralRecord): Promise<void> {
    if (!this.ephemeral) throw new Error('ephemeral keys need the KV bucket');
    await this.ephemeral.put(ephemeralKvKey(secret), JSON.stringify(rec));
  }
}
