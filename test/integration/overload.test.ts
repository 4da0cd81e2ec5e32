// [integration] A gateway whose event loop runs late refuses new sessions with HTTP 503, an
// OpenAI-style error (code `overloaded`) and Retry-After, while the sessions it holds carry on;
// once the loop is back on time it admits again. The platform runs in this process, so the test
// makes the gateway's own loop late by keeping this thread busy.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { startTestPlatform, TEST_KEY, type TestPlatform } from '../support/platform.ts';
import { LOAD_WINDOW_MS } from '../../gateway/admission.ts';

let platform: TestPlatform;
before(async () => {
  platform = await startTestPlatform({ env: { PARLEY_ADMISSION_MAX_LAG_MS: '20' } });
});
after(async () => {
  await platform?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Outcome = { ok: true; ws: WebSocket; events: Array<Record<string, unknown>> } | { ok: false; status: number; retryAfter: string | undefined; body: string };

function connect(): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${platform.wsBase}/realtime?model=gpt-realtime`, { headers: { Authorization: `Bearer ${TEST_KEY}` } });
    const events: Array<Record<string, unknown>> = [];
    ws.on('message', (d) => {
      events.push(JSON.parse(d.toString()) as Record<string, unknown>);
      if (events.length === 1) resolve({ ok: true, ws, events });
    });
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (b: Buffer) => (body += b.toString()));
      res.on('end', () => resolve({ ok: false, status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'], body }));
    });
    ws.once('error', reject);
  });
}

/** Keep this thread (the gateway's) busy: 80 ms of work out of every 85 ms, until `stop` says so. */
function hog(): { stop: () => Promise<void> } {
  let running = true;
  const done = (async () => {
    while (running) {
      const until = performance.now() + 80;
      while (performance.now() < until) {
        // spin
      }
      await sleep(5);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await done;
    },
  };
}

test('an overloaded gateway refuses new sessions with 503 overloaded and Retry-After; held sessions carry on; it admits again when back on time', { timeout: 60_000 }, async () => {
  await sleep(LOAD_WINDOW_MS + 300); // the gate judges whole windows only
  const held = await connect();
  assert.ok(held.ok, 'a session is admitted while the gateway is idle');
  assert.equal(held.events[0]!['type'], 'session.created');

  const busy = hog();
  let refused: Outcome;
  try {
    await sleep(LOAD_WINDOW_MS + 500);
    refused = await connect();
  } finally {
    await busy.stop();
  }
  assert.equal(refused.ok, false, 'a new session is refused while the loop runs late');
  if (refused.ok) return;
  assert.equal(refused.status, 503);
  assert.equal(refused.retryAfter, '2');
  const error = (JSON.parse(refused.body) as { error: { code: string; type: string; message: string } }).error;
  assert.equal(error.code, 'overloaded');
  assert.equal(error.type, 'server_error');
  assert.match(error.message, /event loop ran \d+ ms late/);

  // The held session was not touched: it still answers.
  const updated = new Promise<void>((resolve) => held.ws.on('message', (d) => (JSON.parse(d.toString()) as { type: string }).type === 'session.updated' && resolve()));
  held.ws.send(JSON.stringify({ type: 'session.update', session: { type: 'realtime', instructions: 'still here' } }));
  await updated;
  assert.equal(held.ws.readyState, WebSocket.OPEN);

  await sleep(LOAD_WINDOW_MS + 500);
  const again = await connect();
  assert.ok(again.ok, 'back on time, the gateway admits again');
  assert.equal(again.events[0]!['type'], 'session.created');
  again.ws.close();
  held.ws.close();
});
