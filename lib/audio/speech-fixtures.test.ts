// Tests for the espeak-ng test fixtures in test/support/speech.ts. They live
// here because they exercise this module end to end (espeak WAV -> decodeWav
// -> 22050->24000 resampler) and other suites will trust their ground truth.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildUtteranceTrack, silence, synthesizeSpeech, voicedRange, whiteNoise } from '../../test/support/speech.ts';
import { msToSamples, rmsDbfs } from './pcm.ts';
import { fitSine, sinePcm16 } from './test-signals.ts';

test('synthesizeSpeech returns 24 kHz speech of plausible length and level', async () => {
  const pcm16 = await synthesizeSpeech('Hello, how can I help you today?');
  const seconds = pcm16.length / 2 / 24000;
  assert.ok(seconds > 1 && seconds < 4, `duration ${seconds} s`);
  assert.ok(rmsDbfs(pcm16) > -35, `level ${rmsDbfs(pcm16)} dBFS`);
});

test('synthesizeSpeech honours wpm and treats leading dashes as text, not flags', async () => {
  const slow = await synthesizeSpeech('one two three four five', { wpm: 100 });
  const fast = await synthesizeSpeech('one two three four five', { wpm: 300 });
  assert.ok(slow.length > fast.length * 1.8, `slow ${slow.length} vs fast ${fast.length}`);
  const dashed = await synthesizeSpeech('-v nope');
  assert.ok(dashed.length > 0);
});

test('synthesizeSpeech surfaces espeak-ng errors', async () => {
  await assert.rejects(synthesizeSpeech('hello', { voice: 'zzzvoice' }), /espeak-ng failed.*voice does not exist/s);
});

test('silence and whiteNoise have exact lengths and levels, and noise is deterministic', () => {
  assert.equal(silence(20).length, 960);
  assert.equal(silence(10, 16000).length, 320);
  assert.equal(rmsDbfs(silence(5)), -Infinity);
  const noise = whiteNoise(500, -30);
  assert.equal(noise.length, msToSamples(500, 24000) * 2);
  assert.ok(Math.abs(rmsDbfs(noise) - -30) < 0.01, `level ${rmsDbfs(noise)}`);
  assert.deepEqual(whiteNoise(500, -30), noise);
  assert.notDeepEqual(whiteNoise(500, -30, 24000, 99), noise);
  // White, not tonal: no single frequency carries a noticeable share of the power.
  for (const freq of [100, 1000, 5000, 11000]) assert.ok(fitSine(noise, freq, 24000).residualDb > -0.5);
});

test('voicedRange finds the first and last 10 ms window above -40 dBFS', () => {
  const tone = sinePcm16(500, 24000, 2400, 3000); // 100 ms at about -23 dBFS
  const padded = new Uint8Array((480 + 2400 + 720) * 2);
  padded.set(tone, 480 * 2);
  assert.deepEqual(voicedRange(padded), { start: 480, end: 480 + 2400 });
  assert.equal(voicedRange(silence(100)), null);
});

test('buildUtteranceTrack places trimmed speech exactly between the requested silences', async () => {
  const { pcm16, segments } = await buildUtteranceTrack([
    { silenceMs: 500 },
    { text: 'Book a table for two.' },
    { silenceMs: 800 },
    { text: 'Tomorrow at seven.' },
    { silenceMs: 300 },
  ]);
  assert.deepEqual(segments.map((s) => s.text), ['Book a table for two.', 'Tomorrow at seven.']);
  const [first, second] = segments as [(typeof segments)[0], (typeof segments)[0]];
  assert.equal(first.startMs, 500);
  assert.ok(Math.abs(second.startMs - first.endMs - 800) < 1e-9, 'gap between segments is exactly the silence part');
  assert.ok(Math.abs(pcm16.length / 48 - second.endMs - 300) < 1e-9, 'track ends with exactly the trailing silence');
  for (const s of segments) {
    assert.ok(s.endMs - s.startMs > 500, `${s.text} lasts ${s.endMs - s.startMs} ms`);
    const at = (ms: number) => msToSamples(ms, 24000) * 2;
    // Trimmed to the voice: the first and last 10 ms are voiced, the 10 ms around them are silent.
    assert.ok(rmsDbfs(pcm16.subarray(at(s.startMs), at(s.startMs + 10))) > -40);
    assert.ok(rmsDbfs(pcm16.subarray(at(s.endMs - 10), at(s.endMs))) > -40);
    assert.equal(rmsDbfs(pcm16.subarray(at(s.startMs - 10), at(s.startMs))), -Infinity);
    assert.equal(rmsDbfs(pcm16.subarray(at(s.endMs), at(s.endMs + 10))), -Infinity);
  }
});
