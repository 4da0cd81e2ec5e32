// The load generator's microphone floor (--noise-dbfs): noise at the level asked for, the same bytes
// for the same seed, and no append left digitally silent (so the server's VAD must infer each frame).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmsDbfs } from '../lib/audio/index.ts';
import { encodeAppends, parseNoiseDbfs, withNoise } from './audio-pump.ts';

test('withNoise adds white noise at the RMS level asked for, deterministically', () => {
  const silence = new Uint8Array(24_000 * 2);
  for (const level of [-70, -55, -40]) {
    const noisy = withNoise(silence, level, 7);
    assert.ok(Math.abs(rmsDbfs(noisy) - level) < 0.5, `${level} dBFS asked, ${rmsDbfs(noisy).toFixed(2)} measured`);
    assert.deepEqual(withNoise(silence, level, 7), noisy);
    assert.notDeepEqual(withNoise(silence, level, 8), noisy);
  }
});

test('encodeAppends with a noise floor leaves no append digitally silent', () => {
  const pcm = new Uint8Array(24 * 200 * 2); // 200 ms of digital silence
  const appends = encodeAppends(pcm, { start: 0, end: pcm.length / 2 }, 40, -55);
  assert.equal(appends.messages.length, 5);
  for (const m of appends.messages) {
    const audio = Buffer.from((JSON.parse(m.toString()) as { audio: string }).audio, 'base64');
    assert.ok(Math.abs(rmsDbfs(audio) + 55) < 1, `append at ${rmsDbfs(audio).toFixed(1)} dBFS`);
  }
  const quiet = encodeAppends(pcm, { start: 0, end: pcm.length / 2 }, 40);
  assert.equal(Buffer.from((JSON.parse(quiet.messages[0]!.toString()) as { audio: string }).audio, 'base64').every((b) => b === 0), true);
});

test('parseNoiseDbfs takes a level in range and names the range (and the =) otherwise', () => {
  assert.equal(parseNoiseDbfs('-55'), -55);
  for (const bad of ['', 'abc', '5', '-130', 'NaN']) assert.throws(() => parseNoiseDbfs(bad), /between -120 and -10 dBFS, written --noise-dbfs=-55/, bad);
});
