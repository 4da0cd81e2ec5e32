// Headers of a message we publish, kept in the form they go on the wire. nats.js's own MsgHdrs
// re-scans every key it holds on each set (an array of keys and a filter per call), validates with a
// fresh regex, and builds the header block by string concatenation on every publish: at 100
// sessions that was a third of the gateway thread's allocation (230 of 670 MB in 10 s, a heap
// sampling profile), most of it for the five headers of each audio frame. Here a set is a Map
// write, and the block is encoded once (a retried publish reuses it). nats.js calls `encode()` on
// whatever it is given as headers; the bytes are the ones its MsgHdrs would write (test).
import { Match, type MsgHdrs } from '@nats-io/nats-core';
import { HEADER } from '../../schemas/index.ts';

const HEADER_LINE = 'NATS/1.0';
/** A header name: printable ASCII without ':' (the rule nats.js applies). */
const VALID_KEY = /^[\x21-\x39\x3b-\x7e]+$/;
const LINE_BREAK = /[\r\n]/;

export class WireHeaders implements MsgHdrs {
  readonly hasError = false;
  readonly status = '';
  readonly code = 0;
  readonly description = '';
  /** Undefined while the headers exist only as a block given whole (fromBlock): decoded on first use. */
  private map: Map<string, string[]> | undefined = new Map();
  private encoded: Uint8Array | undefined;

  /** Headers from name/value pairs (the values trimmed, as nats.js does). */
  static of(pairs: Record<string, string>): WireHeaders {
    const h = new WireHeaders();
    for (const k in pairs) h.set(k, pairs[k] as string);
    return h;
  }

  /**
   * Headers given as their finished block, `NATS/1.0\r\n` + `Name: value\r\n` lines + `\r\n`, built
   * from checked parts (the input audio's hot path: see audioFrameBlock). nats.js only calls
   * encode(), which returns the block as it is; anything else decodes it first.
   */
  static fromBlock(block: string): WireHeaders {
    const h = new WireHeaders();
    h.map = undefined;
    h.encoded = Buffer.from(block, 'latin1');
    return h;
  }

  private get entries(): Map<string, string[]> {
    if (this.map) return this.map;
    this.map = new Map();
    for (const line of Buffer.from(this.encoded!).toString('latin1').split('\r\n').slice(1)) {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const [k, v] = [line.slice(0, colon), line.slice(colon + 1).trim()];
      const vs = this.map.get(k);
      if (vs) vs.push(v);
      else this.map.set(k, [v]);
    }
    return this.map;
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
 * The fixed start of an input audio frame's header block (version line, kind, gateway), made once
 * per session and checked like any header: a gateway id that could break out of its line is refused.
 */
export function audioFrameBlockPrefix(gatewayId: string): string {
  const block = Buffer.from(WireHeaders.of({ [HEADER.kind]: 'audio', [HEADER.gateway]: gatewayId }).encode()).toString('latin1');
  return block.slice(0, -2); // less the blank line that ends a block
}

/** A frame's whole header block: the prefix, then seq, offset and send time (what set() would write for them, in that order). */
export function audioFrameBlock(prefix: string, seq: number, offset: number, sentAt: number): string {
  return `${prefix}${HEADER.seq}: ${seq}\r\n${HEADER.offset}: ${offset}\r\n${HEADER.sentAt}: ${sentAt}\r\n\r\n`;
}
