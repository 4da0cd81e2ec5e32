// [integration] Distributed rate limits (sliding window on JetStream): responses per session and
// new sessions per tenant, with a per-tenant override; refusals are clear and nothing else breaks.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { startTestPlatform, TEST_KEY, TEST_KEY_B, type TestPlatform } from '../support/platform.ts';
import { silence, synthesizeSpeech } from '../support/speech.ts';

let platform: TestPlatform;
before(async () => {
  platform = await startTestPlatform({
    env: { PARLEY_RATE_LIMIT_RESPONSES_PER_MINUTE: '3', PARLEY_RATE_LIMIT_SESSIONS_PER_MINUTE: '3', PARLEY_TENANT_RATE_LIMITS: 'tenant-b:sessions=20' },
  });
});
after(async () => {
  await platform?.stop();
});

function open(key: string): Promise<{ ws: WebSocket; events: Array<Record<string, unknown>>; closed: Promise<number> }> {
  const ws = new WebSocket(`${platform.wsBase}/realtime?model=gpt-realtime`, { headers: { Authorization: `Bearer ${key}` } });
  const events: Array<Record<string, unknown>> = [];
  ws.on('message', (d) => events.push(JSON.parse(d.toString()) as Record<string, unknown>));
  const closed = new Promise<number>((r) => ws.on('close', (c) => r(c)));
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, events, closed }));
    ws.once('error', reject);
  });
}

async function until<T>(fn: () => T | undefined, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('responses beyond the per-session limit fail with rate_limit_exceeded; rate_limits.updated counts down', async () => {
  const c = await open(TEST_KEY);
  c.ws.send(JSON.stringify({ type: 'session.update', session: { type: 'realtime', output_modalities: ['text'] } }));
  const statuses: string[] = [];
  const remaining: number[] = [];
  for (let i = 0; i < 4; i++) {
    c.ws.send(JSON.stringify({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: `hi ${i}` }] } }));
    c.ws.send(JSON.stringify({ type: 'response.create' }));
    const done = await until(() => c.events.filter((e) => e['type'] === 'response.done')[i]);
    statuses.push((done['response'] as { status: string }).status);
    const rl = await until(() => c.events.filter((e) => e['type'] === 'rate_limits.updated')[i]);
    remaining.push((rl['rate_limits'] as Array<{ remaining: number }>)[0]!.remaining);
  }
  assert.deepEqual(statuses, ['completed', 'completed', 'completed', 'failed']);
  assert.deepEqual(remaining, [2, 1, 0, 0]);
  const err = c.events.find((e) => e['type'] === 'error')!['error'] as { code: string };
  assert.equal(err.code, 'rate_limit_exceeded');
  c.ws.close();
});

test('new sessions beyond the tenant limit are refused; another tenant with an override is not', async () => {
  // tenant-a already opened one session above; two more fit, the next is refused.
  const a1 = await open(TEST_KEY);
  const a2 = await open(TEST_KEY);
  const refused = await open(TEST_KEY);
  const err = (await until(() => refused.events.find((e) => e['type'] === 'error')))['error'] as { code: string };
  assert.equal(err.code, 'rate_limit_exceeded');
  assert.equal(await refused.closed, 4000);
  for (const c of [a1, a2]) assert.ok((await until(() => c.events.find((e) => e['type'] === 'session.created'))) !== undefined);
  const bs = await Promise.all(Array.from({ length: 5 }, () => open(TEST_KEY_B)));
  for (const b of bs) await until(() => b.events.find((e) => e['type'] === 'session.created'));
  for (const c of [a1, a2, ...bs]) c.ws.close();
});

test('a server_vad turn counts once against the response limit (its check starts at speech_stopped)', async () => {
  const c = await open(TEST_KEY_B);
  c.ws.send(JSON.stringify({ type: 'session.update', session: { type: 'realtime', output_modalities: ['text'], audio: { input: { turn_detection: { type: 'server_vad', silence_duration_ms: 300 } } } } }));
  await until(() => c.events.find((e) => e['type'] === 'session.updated'));
  const speech = await synthesizeSpeech('Tell me something about rate limits.');
  const statuses: string[] = [];
  for (let i = 0; i < 4; i++) {
    for (const pcm of [speech, silence(1_000)]) {
      for (let at = 0; at < pcm.length; at += 9_600) c.ws.send(JSON.stringify({ type: 'input_audio_buffer.append', audio: Buffer.from(pcm.subarray(at, at + 9_600)).toString('base64') }));
    }
    const done = await until(() => c.events.filter((e) => e['type'] === 'response.done')[i], 20_000);
    statuses.push((done['response'] as { status: string }).status);
  }
  // The limit is 3 per session: three turns answered, the fourth refused. A turn checked twice
  // (at speech_stopped and again at its commit) would have been refused at the second.
  assert.deepEqual(statuses, ['completed', 'completed', 'completed', 'failed']);
  c.ws.close();
});
