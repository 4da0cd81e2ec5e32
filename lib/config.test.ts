import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from './config.ts';
import { ConfigError } from './errors.ts';

describe('config: PARLEY_VAD_SAMPLE_RATE', () => {
  it('defaults to 16 kHz and accepts 8 kHz', () => {
    assert.equal(loadConfig({}).vad.sampleRate, 16_000);
    assert.equal(loadConfig({ PARLEY_VAD_SAMPLE_RATE: '8000' }).vad.sampleRate, 8_000);
    assert.equal(loadConfig({ PARLEY_VAD_SAMPLE_RATE: '16000' }).vad.sampleRate, 16_000);
  });

  it('refuses any other rate, naming the variable and the allowed values', () => {
    assert.throws(() => loadConfig({ PARLEY_VAD_SAMPLE_RATE: '44100' }), (err: unknown) => err instanceof ConfigError && /PARLEY_VAD_SAMPLE_RATE must be one of 16000, 8000, got '44100'/.test(err.message));
  });
});

describe('config: STT and TTS jobs in flight', () => {
  it('follow the engine unless set: a CPU engine a few, a remote or null engine many', () => {
    const c = loadConfig({});
    assert.deepEqual([c.stt.engine, c.stt.concurrency, c.tts.engine, c.tts.concurrency], ['pocketsphinx', 2, 'espeak', 4]);
    const remote = loadConfig({ PARLEY_STT_ENGINE: 'openai', PARLEY_TTS_ENGINE: 'openai', OPENAI_BASE_URL: 'http://127.0.0.1:9/v1' });
    assert.deepEqual([remote.stt.concurrency, remote.tts.concurrency], [16, 16]);
    const none = loadConfig({ PARLEY_STT_ENGINE: 'null', PARLEY_TTS_ENGINE: 'null' });
    assert.deepEqual([none.stt.concurrency, none.tts.concurrency], [64, 64]);
    const set = loadConfig({ PARLEY_STT_ENGINE: 'null', PARLEY_STT_CONCURRENCY: '3', PARLEY_TTS_CONCURRENCY: '5' });
    assert.deepEqual([set.stt.concurrency, set.tts.concurrency], [3, 5]);
  });
});
