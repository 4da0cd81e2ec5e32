// Headers of a message we publish, kept in the form they go on the wire. nats.js's own MsgHdrs
// re-scans every key it holds on each set (an array of keys and a filter per call), validates with a
// fresh regex, and builds the header block by string concatenation on every publish: at 100
// sessions that was a third of the gateway thread's allocation (230 of 670 MB in 10 s, a heap
// sampling profile), most of it for the five headers of each audio frame. Here a set is a Map
// write, and the block is encoded once (a retried publish reuses it). nats.js calls `encode()` on
// whatever it is given as headers; the bytes are the ones its MsgHdrs would write (test).
import { Match, type MsgHdrs } from '@nats-io/nats-core';

const HEADER_LINE = 'NATS/1.0';
/** A header name: printable ASCII without ':' (the rule nats.js applies). */
const VALID_KEY = /^[\x21-\x39\x3b-\x7e]+$/;
const LINE_BREAK = /[\r\n]/;

export class WireHeaders implements MsgHdrs {
  readonly hasError = false;
  readonly status = '';
  readonly code = 0;
  readonly description = '';
  private readonly entries = new Map<string, string[]>();
  private encoded: Uint8Array | undefined;

  /** Headers from name/value pairs (the values trimmed, as nats.js does). */
  static of(pairs: Record<string, string>): WireHeaders {
    const h = new WireHeaders();
    for (const k in pairs) h.set(k, pairs[k] as string);
    return h;
  }

  get(k: string, match: Match = Match.Exact): string {
    return this.find(k, match)?.[0] ?? '';
  }

  last(k: string, match: Match = Match.Exact): string {
    return this.find(k, match)?.at(-1) ?? '';
  }

  has(k: string, match: Match = Match.Exact): boolean {
    return this.find(k, match) !== undefined;
  }

  values(k: string, match: Match = Match.Exact): string[] {
    return [...(this.find(k, match) ?? [])];
  }

  keys(): string[] {
    return [...this.entries.keys()];
  }

  set(k: string, v: string, match: Match = Match.Exact): void {
    this.delete(k, match);
    this.entries.set(validKey(k), [validValue(v)]);
    this.encoded = undefined;
  }

  append(k: string, v: string, match: Match = Match.Exact): void {
    const existing = this.find(k, match);
    if (existing) existing.push(validValue(v));
    else this.entries.set(validKey(k), [validValue(v)]);
    this.encoded = undefined;
  }

  delete(k: string, match: Match = Match.Exact): void {
    if (match === Match.Exact) {
      if (this.entries.delete(k)) this.encoded = undefined;
      return;
    }
    for (const key of this.entries.keys()) {
      if (sameKey(key, k, match)) {
        this.entries.delete(key);
        this.encoded = undefined;
      }
    }
  }

  [Symbol.iterator](): IterableIterator<[string, string[]]> {
    return this.entries.entries();
  }

  /** The header block as nats.js puts it on the wire (called by its publish). */
  encode(): Uint8Array {
    if (this.encoded) return this.encoded;
    if (this.entries.size === 0) return (this.encoded = new Uint8Array(0)); // no header block at all, as nats.js
    let block = HEADER_LINE;
    for (const [k, vs] of this.entries) for (const v of vs) block += `\r\n${k}: ${v}`;
    this.encoded = Buffer.from(`${block}\r\n\r\n`, 'utf8');
    return this.encoded;
  }

  private find(k: string, match: Match): string[] | undefined {
    if (match === Match.Exact) return this.entries.get(k);
    for (const [key, vs] of this.entries) if (sameKey(key, k, match)) return vs;
    return undefined;
  }
}

/** Exact, or (IgnoreCase, CanonicalMIME) without regard to case. */
function sameKey(key: string, k: string, match: Match): boolean {
  return match === Match.Exact ? key === k : key.toLowerCase() === k.toLowerCase();
}

function validKey(k: string): string {
  if (!VALID_KEY.test(k)) throw new TypeError(`invalid header name ${JSON.stringify(k)}: printable ASCII without ':' or spaces`);
  return k;
}

function validValue(v: string): string {
  if (LINE_BREAK.test(v)) throw new TypeError('header values cannot contain \\r or \\n');
  return v.trim();
}

/**
 * Headers given as their finished block (the input audio's hot path: per frame a session's fixed
 * prefix plus three numbers, with no Map, no per-name validation and no re-encoding). nats.js only
 * calls encode(); anything else reads (or changes) a decoded copy.
 */
export class EncodedHeaders implements MsgHdrs {
  readonly hasError = false;
  readonly status = '';
  readonly code = 0;
  readonly description = '';
  private block: Uint8Array | undefined;
  private decoded: WireHeaders | undefined;

  /** `text`: a whole block, `NATS/1.0\r\n` + `Name: value\r\n` lines + `\r\n`, built from checked parts. */
  constructor(text: string) {
    this.block = Buffer.from(text, 'latin1');
  }

  encode(): Uint8Array {
    return this.block ?? this.headers().encode();
  }

  get(k: string, match?: Match): string {
    return this.headers().get(k, match);
  }

  last(k: string, match?: Match): string {
    return this.headers().last(k, match);
  }

  has(k: string, match?: Match): boolean {
    return this.headers().has(k, match);
  }

  values(k: string, match?: Match): string[] {
    return this.headers().values(k, match);
  }

  keys(): string[] {
    return this.headers().keys();
  }

  set(k: string, v: string, match?: Match): void {
    this.headers().set(k, v, match);
    this.block = undefined;
  }

  append(k: string, v: string, match?: Match): void {
    this.headers().append(k, v, match);
    this.block = undefined;
  }

  delete(k: string, match?: Match): void {
    this.headers().delete(k, match);
    this.block = undefined;
  }

  [Symbol.iterator](): IterableIterator<[string, string[]]> {
    return this.headers()[Symbol.iterator]();
  }

  private headers(): WireHeaders {
    if (this.decoded) return this.decoded;
    const h = new WireHeaders();
    const lines = Buffer.from(this.block!).toString('latin1').split('\r\n');
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon > 0) h.append(line.slice(0, colon), line.slice(colon + 1));
    }
    return (this.decoded = h);
  }
}
