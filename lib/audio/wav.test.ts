// Tests for WAV I/O: the exact 44-byte header we write, chunk walking past
// LIST/odd-sized chunks, streaming placeholder sizes, stereo downmix, clear
// rejections, and a file produced by the real `espeak-ng --stdout`.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { decodeWav, encodeWav } from './wav.ts';
import { readPcm16, rmsDbfs, writePcm16 } from './pcm.ts';
import { sinePcm16, unaligned } from './test-signals.ts';

const execFileAsync = promisify(execFile);

/** Hand-built RIFF file from raw chunks, so tests control every header field. */
function riff(chunks: Array<{ id: string; body: Uint8Array; declaredSize?: number }>): Uint8Array {
  const parts: number[] = [...Buffer.from('RIFF'), 0, 0, 0, 0, ...Buffer.from('WAVE')];
  for (const c of chunks) {
    const size = c.declaredSize ?? c.body.length;
    parts.push(...Buffer.from(c.id), size & 0xff, (size >>> 8) & 0xff, (size >>> 16) & 0xff, (size >>> 24) & 0xff, ...c.body);
    if (c.declaredSize === undefined && c.body.length % 2 === 1) parts.push(0);
  }
  return Uint8Array.from(parts);
}

function fmt(opts: { format?: number; channels?: number; rate?: number; bits?: number; extensible?: number } = {}): Uint8Array {
  const { format = 1, channels = 1, rate = 16000, bits = 16 } = opts;
  const body = new Uint8Array(opts.extensible === undefined ? 16 : 40);
  const v = new DataView(body.buffer);
  v.setUint16(0, opts.extensible === undefined ? format : 0xfffe, true);
  v.setUint16(2, channels, true);
  v.setUint32(4, rate, true);
  v.setUint32(8, (rate * channels * bits) / 8, true);
  v.setUint16(12, (channels * bits) / 8, true);
  v.setUint16(14, bits, true);
  if (opts.extensible !== undefined) v.setUint16(24, opts.extensible, true);
  return body;
}

function pcm(values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  values.forEach((x, i) => writePcm16(out, i, x));
  return out;
}

test('encodeWav writes the canonical 44-byte mono 16-bit header', () => {
  const data = pcm([1, -2, 3]);
  const wav = encodeWav(data, 24000);
  const v = new DataView(wav.buffer);
  assert.equal(wav.length, 44 + 6);
  assert.equal(Buffer.from(wav.subarray(0, 4)).toString(), 'RIFF');
  assert.equal(v.getUint32(4, true), 36 + 6);
  assert.equal(Buffer.from(wav.subarray(8, 16)).toString(), 'WAVEfmt ');
  assert.deepEqual([v.getUint32(16, true), v.getUint16(20, true), v.getUint16(22, true)], [16, 1, 1]);
  assert.deepEqual([v.getUint32(24, true), v.getUint32(28, true), v.getUint16(32, true), v.getUint16(34, true)], [24000, 48000, 2, 16]);
  assert.equal(Buffer.from(wav.subarray(36, 40)).toString(), 'data');
  assert.equal(v.getUint32(40, true), 6);
  assert.deepEqual(wav.subarray(44), data);
});

test('encode/decode round-trip, including from an unaligned buffer', () => {
  const data = sinePcm16(440, 16000, 16001, 20000);
  const decoded = decodeWav(unaligned(encodeWav(data, 16000)));
  assert.deepEqual(decoded, { sampleRate: 16000, channels: 1, pcm16: data });
});

test('skips LIST and odd-sized chunks (with their pad byte) before and after fmt', () => {
  const data = pcm([100, 200, -300]);
  const wav = riff([
    { id: 'LIST', body: Uint8Array.from(Buffer.from('INFOISFT\x05\x00\x00\x00lavf\x00')) },
    { id: 'odd ', body: new Uint8Array([1, 2, 3]) },
    { id: 'fmt ', body: fmt({ rate: 22050 }) },
    { id: 'fact', body: new Uint8Array(4) },
    { id: 'data', body: data },
    { id: 'LIST', body: new Uint8Array(10) },
  ]);
  assert.deepEqual(decodeWav(wav), { sampleRate: 22050, channels: 1, pcm16: data });
});

for (const placeholder of [0, 0xffffffff, 0x7ffff000]) {
  test(`data size 0x${placeholder.toString(16)} (streaming writer) means "rest of file"`, () => {
    const data = pcm([5, 6, 7, 8]);
    const wav = riff([{ id: 'fmt ', body: fmt() }, { id: 'data', body: data, declaredSize: placeholder }]);
    assert.deepEqual(decodeWav(wav).pcm16, data);
  });
}

test('stereo is downmixed to mono by averaging; channels reports the source', () => {
  const interleaved = pcm([1000, 3000, -32768, -32768, 32767, -32768, 1, 2]);
  const decoded = decodeWav(riff([{ id: 'fmt ', body: fmt({ channels: 2 }) }, { id: 'data', body: interleaved }]));
  assert.equal(decoded.channels, 2);
  assert.deepEqual([0, 1, 2, 3].map((i) => readPcm16(decoded.pcm16, i)), [2000, -32768, 0, 2]);
});

test('WAVE_FORMAT_EXTENSIBLE with a PCM sub-format is accepted', () => {
  const data = pcm([42]);
  const wav = riff([{ id: 'fmt ', body: fmt({ extensible: 1 }) }, { id: 'data', body: data }]);
  assert.deepEqual(decodeWav(wav).pcm16, data);
});

test('rejects anything but 16-bit PCM with a clear message', () => {
  const data = { id: 'data', body: new Uint8Array(12) };
  assert.throws(() => decodeWav(riff([{ id: 'fmt ', body: fmt({ bits: 8 }) }, data])), /8-bit PCM; only 16-bit PCM/);
  assert.throws(() => decodeWav(riff([{ id: 'fmt ', body: fmt({ bits: 24 }) }, data])), /24-bit PCM; only 16-bit PCM/);
  assert.throws(() => decodeWav(riff([{ id: 'fmt ', body: fmt({ format: 3, bits: 32 }) }, data])), /IEEE float; only 16-bit PCM/);
  assert.throws(() => decodeWav(riff([{ id: 'fmt ', body: fmt({ format: 7, bits: 8 }) }, data])), /μ-law/);
  assert.throws(() => decodeWav(riff([{ id: 'fmt ', body: fmt({ extensible: 3, bits: 32 }) }, data])), /IEEE float/);
  assert.throws(() => decodeWav(riff([data])), /no fmt chunk/);
  assert.throws(() => decodeWav(riff([{ id: 'fmt ', body: fmt() }])), /no data chunk/);
  assert.throws(() => decodeWav(new TextEncoder().encode('OggS not a wav file')), /not a RIFF\/WAVE/);
});

test('decodes the real `espeak-ng --stdout` output (22050 Hz, placeholder sizes)', async () => {
  const { stdout } = await execFileAsync('espeak-ng', ['--stdout', 'The quick brown fox.'], { encoding: 'buffer' });
  const bytes = new Uint8Array(stdout.buffer, stdout.byteOffset, stdout.byteLength);
  const declaredDataSize = new DataView(bytes.buffer, bytes.byteOffset).getUint32(40, true);
  assert.ok(declaredDataSize > bytes.length, 'espeak-ng is expected to write a placeholder data size');
  const decoded = decodeWav(bytes);
  assert.equal(decoded.sampleRate, 22050);
  assert.equal(decoded.channels, 1);
  assert.equal(decoded.pcm16.length, (bytes.length - 44) & ~1);
  assert.ok(rmsDbfs(decoded.pcm16) > -35, `speech level ${rmsDbfs(decoded.pcm16)} dBFS`);
  const seconds = decoded.pcm16.length / 2 / 22050;
  assert.ok(seconds > 0.8 && seconds < 3, `duration ${seconds} s`);
});
