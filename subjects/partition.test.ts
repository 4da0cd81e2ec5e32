// Tests for session -> partition: FNV-1a reference vectors, and agreement with nats-server's own
// `{{partition(16,1)}}` subject mapping on a real throwaway server.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { derivedId, newId } from '../lib/ids.ts';
import { startNatsServer, type NatsServerHandle } from '../ops/nats-server.ts';
import { fnv1a32, partitionOf } from './partition.ts';

test('fnv1a32 matches the FNV-1a 32-bit reference vectors', () => {
  const rows: Array<[string, number]> = [
    ['', 0x811c9dc5],
    ['a', 0xe40c292c],
    ['b', 0xe70c2de5],
    ['foobar', 0xbf9cf968],
    ['chongo was here!\n', 0xd49930d5],
  ];
  for (const [input, hash] of rows) assert.equal(fnv1a32(input), hash, JSON.stringify(input));
});

test('fnv1a32 hashes UTF-8 bytes, not UTF-16 code units', () => {
  // 'é' is C3 A9 in UTF-8: hashing those two bytes, one after the other.
  let h = 0x811c9dc5;
  for (const byte of [0xc3, 0xa9]) h = Math.imul(h ^ byte, 0x01000193) >>> 0;
  assert.equal(fnv1a32('é'), h);
});

test('partitionOf is in range and stable', () => {
  for (const p of [1, 2, 16, 7, 1024]) {
    for (let n = 0; n < 200; n++) {
      const id = newId('sess');
      const part = partitionOf(id, p);
      assert.ok(Number.isInteger(part) && part >= 0 && part < p, `${id} -> ${part} of ${p}`);
      assert.equal(partitionOf(id, p), part);
    }
  }
});

let dir = '';
let server: NatsServerHandle | undefined;
let nc: NatsConnection | undefined;

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'parley-partition-'));
  const conf = path.join(dir, 'mapping.conf');
  await writeFile(conf, 'mappings = {\n  "map.in.*": "map.p.{{partition(16,1)}}.{{wildcard(1)}}"\n}\n');
  server = await startNatsServer({ storeDir: path.join(dir, 'js'), extraArgs: ['-c', conf] });
  nc = await connect({ servers: server.url });
});

after(async () => {
  await nc?.close();
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('partitionOf(id, 16) equals nats-server {{partition(16,1)}} for real session ids', { timeout: 15_000 }, async () => {
  assert.ok(nc, 'connected');
  const ids = [
    ...Array.from({ length: 50 }, () => newId('sess')),
    ...Array.from({ length: 10 }, (_, i) => derivedId('sess', 'tenant', i)),
    'a',
    'sess_',
    'S',
    'x'.repeat(64),
    'with-dash_and_underscore',
  ];
  const sub = nc.subscribe('map.p.*.*', { max: ids.length });
  await nc.flush();
  for (const id of ids) nc.publish(`map.in.${id}`, id);
  await nc.flush();
  const seen = new Map<string, number>();
  for await (const m of sub) {
    const [, , part, id] = m.subject.split('.');
    assert.ok(part !== undefined && id !== undefined, m.subject);
    seen.set(id, Number(part));
  }
  assert.equal(seen.size, ids.length);
  for (const id of ids) assert.equal(partitionOf(id, 16), seen.get(id), `${id}: ours ${partitionOf(id, 16)}, nats-server ${seen.get(id)}`);
  // Sanity: the ids spread over several partitions, so agreement is not a coincidence.
  assert.ok(new Set(seen.values()).size >= 8, `only ${new Set(seen.values()).size} partitions used`);
});
