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
