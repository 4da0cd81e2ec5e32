// TTS engines: espeak-ng (the real Debian binary) and the OpenAI-compatible engine against a fake
// provider streaming raw PCM in odd-sized pieces; plus the re-chunker both rely on.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeOpenAI, type FakeOpenAI } from '../../test/support/fake-openai.ts';
import { EngineError } from '../../lib/errors.ts';
import { rmsDbfs } from '../../lib/audio/index.ts';
import { createEspeakEngine, espeakVoice } from './espeak-engine.ts';
import { createOpenAiTtsEngine } from './openai-engine.ts';
import { rechunk } from './engine.ts';

let fake: FakeOpenAI;
before(async () => {
  fake = await startFakeOpenAI();
});
after(() => fake.close());

async function all(it: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const c of it) out.push(c);
  return out;
}
const req = (text: string, over: Partial<{ voice: string; speed: number }> = {}) => ({ text, voice: 'alloy', speed: 1, signal: new AbortController().signal, ...over });

describe('espeak TTS engine', () => {
  it('speaks a sentence as 24 kHz PCM16, faster at a higher speed', async () => {
    const engine = createEspeakEngine({ timeoutMs: 10_000 });
    const normal = Buffer.concat(await all(engine.synthesize(req('This is a test of the speech engine.'))));
    const fast = Buffer.concat(await all(engine.synthesize(req('This is a test of the speech engine.', { speed: 1.5 }))));
    assert.equal(normal.length % 2, 0);
    assert.ok(normal.length / 48 > 1_000, `about two seconds of audio, got ${normal.length / 48} ms`);
    assert.ok(rmsDbfs(normal) > -30, 'audible');
    assert.ok(fast.length < normal.length * 0.85, 'speed shortens the audio');
  });

  it('maps Realtime voices onto distinct espeak voices and refuses odd names', () => {
    assert.notEqual(espeakVoice('alloy'), espeakVoice('echo'));
    assert.equal(espeakVoice('en-gb'), 'en-gb');
    assert.equal(espeakVoice('$(rm -rf /)'), 'en-us');
  });
});

describe('openai TTS engine', () => {
  it('streams the PCM body as it arrives and sends voice, speed and pcm format', async () => {
    fake.speech = { ms: 500, chunkBytes: 3_001 };
    const engine = createOpenAiTtsEngine({ baseUrl: fake.baseURL, apiKey: 'k', model: 'tts-1', timeoutMs: 5_000 });
    const pieces = await all(rechunk(engine.synthesize(req('Hello.', { voice: 'coral', speed: 1.2 })), 4_800));
    const total = pieces.reduce((n, p) => n + p.length, 0);
    assert.equal(total, 24_000, '500 ms of 24 kHz PCM16');
    assert.ok(pieces.every((p) => p.length % 2 === 0), 'even-length chunks');
    const sent = JSON.parse(fake.requests.at(-1)!.body.toString());
    assert.deepEqual([sent.voice, sent.speed, sent.response_format, sent.input], ['coral', 1.2, 'pcm', 'Hello.']);
  });

  it('maps a provider failure to a retryable engine error', async () => {
    fake.speech = { ms: 100, chunkBytes: 1000, status: 502 };
    const engine = createOpenAiTtsEngine({ baseUrl: fake.baseURL, apiKey: 'k', model: 'tts-1', timeoutMs: 5_000 });
    await assert.rejects(all(engine.synthesize(req('x'))), (err: unknown) => err instanceof EngineError && err.retryable);
    fake.speech = { ms: 600, chunkBytes: 4_001 };
  });
});

describe('rechunk', () => {
  it('re-cuts any piece sizes into fixed even chunks without losing bytes', async () => {
    async function* src() {
      for (const n of [1, 7, 4_799, 2, 10_000, 3]) yield new Uint8Array(n).fill(n % 251);
    }
    const out = await all(rechunk(src(), 4_800));
    assert.ok(out.slice(0, -1).every((c) => c.length === 4_800));
    assert.equal(out.reduce((n, c) => n + c.length, 0), 14_812 - (14_812 % 2));
  });
});
