// Just enough of the protobuf wire format to edit an ONNX model in place: a message is a list of
// fields, each kept as the exact bytes it was read from, so whatever we do not touch (fields this
// code has no schema for included) is written back byte for byte. No schema, no dependency.

export const WIRE = { varint: 0, fixed64: 1, bytes: 2, fixed32: 5 } as const;

export interface WireField {
  readonly no: number;
  readonly wire: number;
  /** The whole field as read or built: tag, length and payload. */
  readonly raw: Uint8Array;
  /** Length-delimited fields: the payload; varints: the value. */
  readonly payload: Uint8Array;
  readonly value: bigint;
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

function readVarint(buf: Uint8Array, at: number): { value: bigint; next: number } {
  let value = 0n;
  // A varint is at most 10 bytes (64 bits in groups of 7): the bound on this loop.
  for (let i = 0; i < 10; i++) {
    if (at + i >= buf.length) break;
    const b = buf[at + i]!;
    value |= BigInt(b & 0x7f) << BigInt(7 * i);
    if ((b & 0x80) === 0) return { value, next: at + i + 1 };
  }
  throw new Error(`protobuf: bad varint at byte ${at}`);
}

function varint(value: bigint): number[] {
  let v = BigInt.asUintN(64, value); // negative int64 are ten bytes of two's complement
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

/** The fields of one message, in order. */
export function decodeMessage(buf: Uint8Array): WireField[] {
  const fields: WireField[] = [];
  let at = 0;
  while (at < buf.length) {
    const start = at;
    const tag = readVarint(buf, at);
    const no = Number(tag.value >> 3n);
    const wire = Number(tag.value & 7n);
    at = tag.next;
    let payload: Uint8Array;
    let value = 0n;
    if (wire === WIRE.varint) {
      const v = readVarint(buf, at);
      value = v.value;
      payload = buf.subarray(at, v.next);
      at = v.next;
    } else if (wire === WIRE.bytes) {
      const len = readVarint(buf, at);
      at = len.next + Number(len.value);
      if (at > buf.length) throw new Error(`protobuf: field ${no} runs past the end of the message`);
      payload = buf.subarray(len.next, at);
    } else if (wire === WIRE.fixed64 || wire === WIRE.fixed32) {
      payload = buf.subarray(at, (at += wire === WIRE.fixed64 ? 8 : 4));
    } else {
      throw new Error(`protobuf: unsupported wire type ${wire} at byte ${start}`);
    }
    fields.push({ no, wire, raw: buf.subarray(start, at), payload, value });
  }
  return fields;
}

export function encodeMessage(fields: readonly WireField[]): Uint8Array {
  const out = new Uint8Array(fields.reduce((n, f) => n + f.raw.length, 0));
  let at = 0;
  for (const f of fields) {
    out.set(f.raw, at);
    at += f.raw.length;
  }
  return out;
}

export function bytesField(no: number, payload: Uint8Array | string): WireField {
  const body = typeof payload === 'string' ? utf8.encode(payload) : payload;
  const head = [...varint(BigInt((no << 3) | WIRE.bytes)), ...varint(BigInt(body.length))];
  const raw = new Uint8Array(head.length + body.length);
  raw.set(head);
  raw.set(body, head.length);
  return { no, wire: WIRE.bytes, raw, payload: raw.subarray(head.length), value: 0n };
}

export function varintField(no: number, value: bigint | number): WireField {
  const v = BigInt(value);
  const raw = Uint8Array.from([...varint(BigInt((no << 3) | WIRE.varint)), ...varint(v)]);
  return { no, wire: WIRE.varint, raw, payload: raw, value: v };
}

export function messageField(no: number, fields: readonly WireField[]): WireField {
  return bytesField(no, encodeMessage(fields));
}

export const text = (f: WireField | undefined): string | undefined => (f ? fromUtf8.decode(f.payload) : undefined);

/** A repeated int64 field, packed or not. */
export function int64s(fields: readonly WireField[], no: number): bigint[] {
  const out: bigint[] = [];
  for (const f of fields) {
    if (f.no !== no) continue;
    if (f.wire === WIRE.varint) {
      out.push(BigInt.asIntN(64, f.value));
      continue;
    }
    for (let at = 0; at < f.payload.length; ) {
      const v = readVarint(f.payload, at);
      out.push(BigInt.asIntN(64, v.value));
      at = v.next;
    }
  }
  return out;
}
