// [conformance] @openai/agents-realtime against Parley: a RealtimeSession (OpenAIRealtimeWebSocket
// transport, plain ws://) with a zod-typed tool completes a spoken turn that calls the tool, and a
// barge-in (the SDK truncates, then retrieves). The SDK validates every server event with its own zod
// schemas and silently drops what does not match, so every raw frame is also run through its parser
// here, and the session must raise no error. LLM: fake OpenAI provider; STT pocketsphinx; TTS espeak.
import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { OpenAIRealtimeWebSocket, RealtimeAgent, RealtimeSession, tool } from '@openai/agents-realtime';
import { z } from 'zod';
import { startFakeOpenAI, type FakeOpenAI } from '../support/fake-openai.ts';
import { startTestPlatform, TEST_KEY, type TestPlatform } from '../support/platform.ts';
import { silence, synthesizeSpeech } from '../support/speech.ts';
import type { Ev } from './support/clients.ts';
import { Conformance, type Scope } from './support/recorder.ts';
import { chatRequests } from './support/session.ts';

const rec = new Conformance('agents');
let fake: FakeOpenAI;
let platform: TestPlatform;
let question: Uint8Array;
let interruption: Uint8Array;

before(async () => {
  fake = await startFakeOpenAI();
  platform = await startTestPlatform({ env: { OPENAI_BASE_URL: fake.baseURL, OPENAI_API_KEY: 'x' } });
  [question, interruption] = await Promise.all([synthesizeSpeech('What is the weather like in Paris today?'), synthesizeSpeech('Wait, stop, tell me about Rome instead.')]);
});
after(async () => {
  await platform?.stop();
  await fake?.close();
});

interface Harness {
  session: RealtimeSession;
  transport: OpenAIRealtimeWebSocket;
  events: Array<{ at: number; ev: Ev }>;
  sent: Ev[];
  errors: unknown[];
  waitFor(type: string, pred?: (e: Ev) => boolean, timeoutMs?: number, from?: number): Promise<Ev>;
  speak(pcm: Uint8Array): Promise<void>;
}

async function connectAgent(scope: Scope, agent: RealtimeAgent): Promise<Harness> {
  const url = `${platform.wsBase}/realtime?model=gpt-realtime`;
  const transport = new OpenAIRealtimeWebSocket({ url });
  const session = new RealtimeSession(agent, { transport, model: 'gpt-realtime' });
  const events: Harness['events'] = [];
  const sent: Ev[] = [];
  const errors: unknown[] = [];
  const seen = new Set<string>();
  const wake = new Set<() => void>();
  transport.on('*', (raw: unknown) => {
    events.push({ at: performance.now(), ev: scope.server('agents', JSON.stringify(raw), seen) as Ev });
    for (const w of [...wake]) w();
  });
  const send = transport.sendEvent.bind(transport);
  transport.sendEvent = (e) => {
    sent.push(e as Ev);
    scope.client('agents', String((e as Ev)['type']));
    send(e);
  };
  session.on('error', (e) => errors.push(e));
  await session.connect({ apiKey: TEST_KEY, url });
  const find = (type: string, pred: (e: Ev) => boolean, from: number) => events.slice(from).find((e) => e.ev.type === type && pred(e.ev))?.ev;
  return {
    session,
    transport,
    events,
    sent,
    errors,
    waitFor(type, pred = () => true, timeoutMs = 20_000, from = 0) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const e = find(type, pred, from);
          if (!e) return;
          wake.delete(check);
          clearTimeout(timer);
          resolve(e);
        };
        const timer = setTimeout(() => {
          wake.delete(check);
          reject(new Error(`timed out waiting for ${type}; saw ${events.slice(from).map((e) => e.ev.type).join(', ')}`));
        }, timeoutMs);
        wake.add(check);
        check();
      });
    },
    async speak(pcm) {
      const chunk = 960 * 2; // 40 ms
      const start = performance.now();
      for (let at = 0; at < pcm.length; at += chunk) {
        const piece = pcm.slice(at, at + chunk);
        session.sendAudio(piece.buffer);
        const wait = start + ((at + piece.length) / 48_000) * 1000 - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
    },
  };
}

describe('@openai/agents-realtime RealtimeSession', () => {
  rec.test('a spoken turn that calls a zod tool: the SDK runs the tool, sends its output, and the answer is spoken', async (scope) => {
    const calls: string[] = [];
    const getWeather = tool({
      name: 'get_weather',
      description: 'Get the weather for a city',
      parameters: z.object({ city: z.string() }),
      execute: async ({ city }) => {
        calls.push(city);
        fake.chat = [{ text: `It is sunny in ${city} today.` }];
        return `sunny in ${city}`;
      },
    });
    const agent = new RealtimeAgent({ name: 'Weather', instructions: 'You tell the weather.', tools: [getWeather] });
    fake.chat = [{ toolCall: { id: 'call_agents_1', name: 'get_weather', arguments: '{"city":"Paris"}' } }];
    const reqFrom = fake.requests.length;
    const h = await connectAgent(scope, agent);
    // The SDK sends its whole config (semantic_vad, gpt-4o-mini-transcribe, tools) as the socket
    // opens and {tracing: 'auto'} once it sees session.created; the session ends up with both.
    const updated = await h.waitFor('session.updated', (e) => e['session'].tools.length > 0 && e['session'].tracing === 'auto');
    assert.equal(updated['session'].audio.input.turn_detection.type, 'semantic_vad');
    assert.equal(updated['session'].audio.input.transcription.model, 'gpt-4o-mini-transcribe');
    assert.equal(updated['session'].tracing, 'auto');
    assert.deepEqual(updated['session'].tools.map((t: Ev) => t['name']), ['get_weather']);
    const audio: number[] = [];
    h.session.on('audio', (e) => audio.push(e.data.byteLength));
    const toolEnd = new Promise<void>((resolve) => h.session.on('agent_tool_end', () => resolve()));
    await h.speak(question);
    await h.speak(silence(1_500));
    await toolEnd;
    assert.deepEqual(calls, ['Paris']);
    const output = h.sent.find((e) => e['type'] === 'conversation.item.create' && e['item'].type === 'function_call_output');
    assert.equal(output?.['item'].call_id, 'call_agents_1');
    const final = await h.waitFor('response.done', (e) => e['response'].output?.[0]?.type === 'message');
    assert.equal(final['response'].status, 'completed');
    assert.equal(final['response'].output[0].content[0].transcript, 'It is sunny in Paris today.');
    await h.waitFor('rate_limits.updated', () => true, 5_000, h.events.findIndex((e) => e.ev === final));
    assert.ok(audio.reduce((a, b) => a + b, 0) > 24_000, 'the answer arrived as audio through the SDK');
    const tool_msgs = chatRequests(fake, reqFrom).at(-1)?.['messages'].filter((m: Ev) => m['role'] === 'tool');
    assert.deepEqual(tool_msgs, [{ role: 'tool', tool_call_id: 'call_agents_1', content: 'sunny in Paris' }]);
    const history = h.session.history.map((i) => i.type);
    assert.ok(history.includes('function_call') && history.includes('message'), `history: ${history.join(', ')}`);
    assert.deepEqual(h.errors, [], 'the SDK raised no error');
    assert.equal(h.events.filter((e) => e.ev.type === 'error').length, 0);
    h.session.close();
  });

  rec.test('barge-in: speech over a running answer ends it (turn_detected); the SDK truncates and retrieves without errors', async (scope) => {
    const agent = new RealtimeAgent({ name: 'Talker', instructions: 'Talk.' });
    const h = await connectAgent(scope, agent);
    await h.waitFor('session.updated', (e) => e['session'].instructions === 'Talk.');
    fake.chat = [{ text: 'Let me tell you a long story about Paris. ' }, { text: 'It goes on and on for a very long time.', delayMs: 6_000 }];
    await h.speak(question);
    const from = h.events.length;
    // Keep the microphone open (silence) until the answer is being heard.
    const deadline = performance.now() + 15_000;
    while (!h.events.slice(from).some((e) => e.ev.type === 'response.output_audio.delta') && performance.now() < deadline) await h.speak(silence(120));
    const first = await h.waitFor('response.output_audio.delta', () => true, 1, from);
    const interrupted = new Promise<void>((resolve) => h.session.on('audio_interrupted', () => resolve()));
    await h.speak(interruption);
    const done = await h.waitFor('response.done', (e) => e['response'].id === first['response_id'], 10_000);
    assert.equal(done['response'].status, 'cancelled');
    assert.deepEqual(done['response'].status_details, { type: 'cancelled', reason: 'turn_detected' });
    await interrupted;
    const truncate = h.sent.find((e) => e['type'] === 'conversation.item.truncate');
    assert.ok(truncate, 'the SDK sent conversation.item.truncate');
    const truncated = await h.waitFor('conversation.item.truncated', (e) => e['item_id'] === truncate['item_id'], 5_000);
    assert.equal(truncated['audio_end_ms'], truncate['audio_end_ms']);
    await h.waitFor('conversation.item.retrieved', (e) => e['item'].id === truncate['item_id'], 5_000);
    await h.speak(silence(1_200));
    await h.waitFor('response.created', (e) => e['response'].id !== first['response_id'], 20_000, from);
    assert.deepEqual(h.errors, [], 'the SDK raised no error');
    assert.equal(h.events.filter((e) => e.ev.type === 'error').length, 0);
    h.session.close();
  });
});
