// Small helpers the conformance files share: session updates by round trip, expected defaults,
// G.711 encoding of test speech, and reading what the fake provider was asked.
import assert from 'node:assert/strict';
import { G711Encoder, concatBytes } from '../../../lib/audio/index.ts';
import type { FakeOpenAI } from '../../support/fake-openai.ts';
import type { Conn, Ev } from './clients.ts';

/** Send a session.update and return the session of the session.updated that answers it. */
export async function update(c: Conn, session: Record<string, unknown>): Promise<Ev> {
  const from = c.mark();
  c.send({ type: 'session.update', session: c.iface === 'beta' ? session : { type: 'realtime', ...session } });
  const err = c.waitFor('error', () => true, { from, timeoutMs: 5_000 }).then((e) => {
    throw new Error(`session.update refused: ${JSON.stringify(e['error'])}`);
  });
  err.catch(() => undefined);
  const updated = await Promise.race([c.waitFor(c.iface === 'beta' && c.all('transcription_session.created').length ? 'transcription_session.updated' : 'session.updated', () => true, { from }), err]);
  return updated['session'];
}

/** The GA session OpenAI reports for a new connection (live silence_duration_ms is 200; 500 is documented). */
export const GA_SESSION_KEYS = ['audio', 'expires_at', 'id', 'include', 'instructions', 'max_output_tokens', 'model', 'object', 'output_modalities', 'prompt', 'tools', 'tool_choice', 'tracing', 'truncation', 'type'];

export function assertGaDefaults(session: Ev): void {
  assert.deepEqual(Object.keys(session).sort(), [...GA_SESSION_KEYS].sort());
  assert.equal(session['type'], 'realtime');
  assert.equal(session['object'], 'realtime.session');
  assert.deepEqual(session['output_modalities'], ['audio']);
  assert.equal(typeof session['instructions'], 'string');
  assert.deepEqual(session['tools'], []);
  assert.equal(session['tool_choice'], 'auto');
  assert.equal(session['max_output_tokens'], 'inf');
  assert.equal(session['tracing'], null);
  assert.equal(session['truncation'], 'auto');
  assert.equal(session['prompt'], null);
  assert.equal(session['include'], null);
  assert.deepEqual(Object.keys(session['audio']).sort(), ['input', 'output']);
  const input = session['audio'].input;
  assert.deepEqual(input.format, { type: 'audio/pcm', rate: 24000 });
  assert.equal(input.transcription, null);
  assert.equal(input.noise_reduction, null);
  const td = input.turn_detection;
  assert.deepEqual(Object.keys(td).sort(), ['create_response', 'idle_timeout_ms', 'interrupt_response', 'prefix_padding_ms', 'silence_duration_ms', 'threshold', 'type']);
  assert.equal(td.type, 'server_vad');
  assert.equal(td.threshold, 0.5);
  assert.equal(td.prefix_padding_ms, 300);
  assert.ok([200, 500].includes(td.silence_duration_ms), `silence_duration_ms ${td.silence_duration_ms}`);
  assert.equal(td.idle_timeout_ms, null);
  assert.equal(td.create_response, true);
  assert.equal(td.interrupt_response, true);
  assert.deepEqual(session['audio'].output, { format: { type: 'audio/pcm', rate: 24000 }, voice: 'alloy', speed: 1 });
}

/** 24 kHz PCM16 speech as 8 kHz G.711 bytes. */
export function toG711(pcm: Uint8Array, law: 'ulaw' | 'alaw'): Uint8Array {
  const enc = new G711Encoder(law);
  return concatBytes([enc.encode(pcm), enc.flush()]);
}

/** The JSON bodies of the chat completion requests the fake provider received since `from`. */
export function chatRequests(fake: FakeOpenAI, from = 0): Array<Record<string, any>> {
  return fake.requests
    .slice(from)
    .filter((r) => r.path.endsWith('/chat/completions'))
    .map((r) => JSON.parse(r.body.toString()) as Record<string, any>);
}

/** Multipart fields (not the file) of the transcription requests since `from`. */
export function transcriptionFields(fake: FakeOpenAI, from = 0): Array<Record<string, string>> {
  return fake.requests
    .slice(from)
    .filter((r) => r.path.endsWith('/audio/transcriptions'))
    .map((r) => {
      const fields: Record<string, string> = {};
      const text = r.body.toString('latin1');
      for (const m of text.matchAll(/name="([^"]+)"\r\n\r\n([^\r]*)\r\n/g)) fields[m[1]!] = m[2]!;
      return fields;
    });
}

/**
 * Add a user text item, then response.create; resolves with the response.done (and, with
 * `rateLimits`, once the rate_limits.updated that follows it has arrived too).
 */
export async function textTurn(c: Conn, text: string, response?: Record<string, unknown>, opts: { rateLimits?: boolean } = {}): Promise<{ from: number; done: Ev }> {
  const from = c.mark();
  c.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text }] } });
  c.send({ type: 'response.create', ...(response ? { response } : {}) });
  const created = await c.waitFor('response.created', () => true, { from });
  const done = await c.waitFor('response.done', (e) => e['response'].id === created['response'].id, { from, timeoutMs: 20_000 });
  if (opts.rateLimits) await c.waitFor('rate_limits.updated', () => true, { from });
  return { from, done };
}
