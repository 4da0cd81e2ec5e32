// Session -> partition. FNV-1a 32-bit mod P: the same function as nats-server's
// `{{partition(P,1)}}` subject mapping (since 2.8), so a server-side mapping and our gateways agree.

export function fnv1a32(input: string): number {
  let h = 0x811c9dc5;
  const bytes = Buffer.from(input, 'utf8');
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i]!;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export function partitionOf(sessionId: string, partitions: number): number {
  return fnv1a32(sessionId) % partitions;
}
