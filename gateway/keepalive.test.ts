// The keepalive timing handed to uWS: a ping after the configured idle time, the widest pong window.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keepaliveIdleTimeout } from './websocket.ts';

test('20 s ping interval: uWS idleTimeout 36 s (ping at 20 s idle, 16 s to answer)', () => {
  assert.equal(keepaliveIdleTimeout(20_000), 36);
});

test('long intervals keep the 16 s window; short ones get the widest window uWS allows', () => {
  assert.equal(keepaliveIdleTimeout(300_000), 316);
  assert.equal(keepaliveIdleTimeout(10_000), 18); // 10 s + 8 s (uWS gives 18 s an 8 s window)
  assert.equal(keepaliveIdleTimeout(4_000), 8); // 4 s + 4 s
  assert.equal(keepaliveIdleTimeout(1_000), 8); // uWS minimum: ping after 4 s
});
