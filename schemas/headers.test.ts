// readAudioHeaders: the audio subject's Parley-* headers in one pass, missing or bad values made
// explicit (NaN, '' or 0) so the VAD drops such a message instead of taking a default.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { headers } from '@nats-io/nats-core';
import { HEADER, readAudioHeaders } from './index.ts';

test('reads kind, gateway, seq, offset and sent-at from nats.js headers', () => {
  const h = headers();
  h.set(HEADER.kind, 'audio');
  h.set(HEADER.gateway, 'gw-1');
  h.set(HEADER.seq, '12');
  h.set(HEADER.offset, '48000');
  h.set(HEADER.sentAt, '1764876000000');
  h.set('traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
  assert.deepEqual(readAudioHeaders(h), { kind: 'audio', gateway: 'gw-1', seq: 12, offset: 48000, sentAt: 1764876000000 });
});

test('a missing or malformed number is NaN (never 0), a missing sent-at is 0, no headers at all is empty', () => {
  const h = headers();
  h.set(HEADER.kind, 'control');
  h.set(HEADER.offset, 'twelve');
  h.append(HEADER.gateway, 'first');
  h.append(HEADER.gateway, 'second');
  const meta = readAudioHeaders(h);
  assert.equal(meta.kind, 'control');
  assert.equal(meta.gateway, 'first', "a repeated header's first value");
  assert.ok(Number.isNaN(meta.seq), 'missing seq');
  assert.ok(Number.isNaN(meta.offset), 'malformed offset');
  assert.equal(meta.sentAt, 0);
  const none = readAudioHeaders(undefined);
  assert.equal(none.kind, '');
  assert.ok(Number.isNaN(none.seq));
});
