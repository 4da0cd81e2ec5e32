// LLM engines: the OpenAI-compatible engine against a fake provider speaking the real streaming
// protocol (SSE chunks, tool-call fragments, usage), and the offline echo engine.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeOpenAI, type FakeOpenAI } from '../../test/support/fake-openai.ts';
import { EngineError } from '../../lib/errors.ts';
import { createOpenAiLlmEngine, toChatMessages } from './openai-engine.ts';
import { createEchoEngine } from './echo-engine.ts';
import type { LlmChunk, LlmRequest } from './engine.ts';

let fake: FakeOpenAI;
before(async () => {
  fake = await startFakeOpenAI();
});
after(() => fake.close());

const request = (over: Partial<LlmRequest> = {}): LlmRequest => ({
  instructions: 'Be brief.',
  context: [{ type: 'message', role: 'user', text: 'hi there' }],
  tools: [],
  toolChoice: 'auto',
  temperature: 0.8,
  maxOutputTokens: null,
  signal: new AbortController().signal,
  ...over,
});

async function collect(it: AsyncIterable<LlmChunk>): Promise<LlmChunk[]> {
  const out: LlmChunk[] = [];
  for await (const c of it) out.push(c);
  return out;
}

describe('openai LLM engine', () => {
  it('streams text deltas and finishes with usage', async () => {
    fake.chat = [{ text: 'One two three.' }];
    const engine = createOpenAiLlmEngine({ baseUrl: fake.baseURL, apiKey: 'k', model: 'fake-model', timeoutMs: 5_000 });
    const chunks = await collect(engine.generate(request()));
    const text = chunks.filter((c) => c.type === 'text').map((c) => (c as { delta: string }).delta);
    assert.ok(text.length >= 3, 'streamed in pieces');
    assert.equal(text.join(''), 'One two three.');
    assert.deepEqual(chunks.at(-1), { type: 'done', finishReason: 'stop', usage: { inputTokens: 42, outputTokens: 3 } });
    const sent = JSON.parse(fake.requests.at(-1)!.body.toString());
    assert.equal(sent.model, 'fake-model');
    assert.equal(sent.stream, true);
    assert.deepEqual(sent.messages, [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'hi there' },
    ]);
  });

  it('assembles streamed tool-call fragments into whole calls', async () => {
    fake.chat = [{ toolCall: { id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' } }];
    const engine = createOpenAiLlmEngine({ baseUrl: fake.baseURL, apiKey: 'k', model: 'm', timeoutMs: 5_000 });
    const chunks = await collect(engine.generate(request({ tools: [{ name: 'get_weather', description: 'w', parameters: { type: 'object' } }] })));
    assert.deepEqual(chunks.filter((c) => c.type === 'tool_call'), [{ type: 'tool_call', index: 0, callId: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' }]);
    assert.equal((chunks.at(-1) as { finishReason: string }).finishReason, 'tool_calls');
    const sent = JSON.parse(fake.requests.at(-1)!.body.toString());
    assert.equal(sent.tools[0].function.name, 'get_weather');
  });

  it('maps provider failures: 5xx and 429 retryable, other 4xx not', async () => {
    for (const [status, retryable] of [[500, true], [429, true], [400, false], [401, false]] as const) {
      fake.chat = [{ status }];
      const engine = createOpenAiLlmEngine({ baseUrl: fake.baseURL, apiKey: 'k', model: 'm', timeoutMs: 5_000 });
      await assert.rejects(collect(engine.generate(request())), (err: unknown) => err instanceof EngineError && err.retryable === retryable && err.code === `upstream_${status}`);
    }
  });

  it('stops promptly when aborted mid-stream', async () => {
    fake.chat = [{ text: 'first part ' }, { text: 'second part', delayMs: 2_000 }];
    const engine = createOpenAiLlmEngine({ baseUrl: fake.baseURL, apiKey: 'k', model: 'm', timeoutMs: 5_000 });
    const ac = new AbortController();
    const started = performance.now();
    const seen: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const c of engine.generate(request({ signal: ac.signal }))) {
          if (c.type === 'text') {
            seen.push(c.delta);
            ac.abort();
          }
        }
      })(),
    );
    assert.ok(performance.now() - started < 1_000, 'did not wait for the rest of the stream');
    assert.equal(seen.length, 1);
  });

  it('turns function calls and outputs into chat messages', () => {
    const msgs = toChatMessages('', [
      { type: 'message', role: 'user', text: 'weather?' },
      { type: 'function_call', callId: 'c1', name: 'w', arguments: '{}' },
      { type: 'function_call', callId: 'c2', name: 'w', arguments: '{"x":1}' },
      { type: 'function_call_output', callId: 'c1', output: 'sunny' },
    ]);
    assert.equal(msgs.length, 3);
    assert.deepEqual((msgs[1] as { tool_calls: Array<{ id: string }> }).tool_calls.map((t) => t.id), ['c1', 'c2']);
    assert.deepEqual(msgs[2], { role: 'tool', tool_call_id: 'c1', content: 'sunny' });
  });
});

describe('echo LLM engine', () => {
  it('answers "You said: <last user message>" word by word', async () => {
    const chunks = await collect(createEchoEngine().generate(request({ context: [{ type: 'message', role: 'user', text: 'first' }, { type: 'message', role: 'assistant', text: 'x' }, { type: 'message', role: 'user', text: 'book a table' }] })));
    const text = chunks.filter((c) => c.type === 'text').map((c) => (c as { delta: string }).delta);
    assert.equal(text.join(''), 'You said: book a table');
    assert.ok(text.length > 1);
    assert.equal(chunks.at(-1)!.type, 'done');
  });

  it('says it heard nothing for an empty transcript', async () => {
    const chunks = await collect(createEchoEngine().generate(request({ context: [{ type: 'message', role: 'user', text: '  ' }] })));
    assert.equal(chunks.filter((c) => c.type === 'text').map((c) => (c as { delta: string }).delta).join(''), 'I did not hear anything.');
  });
});
