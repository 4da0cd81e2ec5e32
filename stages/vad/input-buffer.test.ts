// Tests for the VAD's input buffer on the session sample timeline: appends with gaps (silence) and
// overlaps (skipped), trimming, slicing, take, clear and the size cap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputBuffer } from './input-buffer.ts';

/** PCM16 LE whose sample at timeline position p has the value p (mod 30000), so content is checkable. */
function ramp(from: number, n: number): Uint8Array {
  const out = new Uint8Array(n * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < n; i++) view.setInt16(i * 2, (from + i) % 30_000, true);
  return out;
}
function samples(bytes: Uint8Array): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Array.from({ length: bytes.length / 2 }, (_, i) => view.getInt16(i * 2, true));
}
const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => (from + i) % 30_000);
const zeros = (n: number): number[] => Array<number>(n).fill(0);

function bounds(b: InputBuffer): [number, number, number] {
  return [b.startSample, b.endSample, b.samples];
}

test('the first append positions the buffer on the timeline', () => {
  const b = new InputBuffer(1_000_000);
  assert.deepEqual(bounds(b), [0, 0, 0]);
  assert.equal(b.append(ramp(4800, 480), 4800), 0);
  assert.deepEqual(bounds(b), [4800, 5280, 480]);
  assert.deepEqual(samples(b.slice(0, 10_000)), range(4800, 5280));
});

test('contiguous appends concatenate', () => {
  const b = new InputBuffer(1_000_000);
  for (let at = 0; at < 2400; at += 480) b.append(ramp(at, 480), at);
  assert.deepEqual(bounds(b), [0, 2400, 2400]);
  assert.deepEqual(samples(b.slice(0, 2400)), range(0, 2400));
});

test('a gap is filled with silence so later positions stay true', () => {
  const b = new InputBuffer(1_000_000);
  b.append(ramp(0, 100), 0);
  b.append(ramp(150, 100), 150);
  assert.deepEqual(bounds(b), [0, 250, 250]);
  assert.deepEqual(samples(b.slice(0, 250)), [...range(0, 100), ...zeros(50), ...range(150, 250)]);
  assert.deepEqual(samples(b.slice(150, 160)), range(150, 160));
});

test('overlaps are skipped: a redelivered frame adds nothing, a partial one adds only the new part', () => {
  const b = new InputBuffer(1_000_000);
  b.append(ramp(0, 100), 0);
  b.append(ramp(100, 100), 100);
  const rows: Array<[string, number, number, number]> = [
    ['exact duplicate', 100, 100, 200],
    ['inside the buffer', 20, 50, 200],
    ['ending exactly at the end', 150, 50, 200],
    ['partial overlap', 180, 40, 220],
    ['partial overlap across two chunks', 90, 140, 230],
  ];
  for (const [name, at, n, end] of rows) {
    assert.equal(b.append(ramp(at, n), at), 0, name);
    assert.deepEqual(bounds(b), [0, end, end], name);
    assert.deepEqual(samples(b.slice(0, end)), range(0, end), `${name}: content stays the original timeline`);
  }
});

test('trimBefore forgets audio before a sample, mid-chunk included', () => {
  const b = new InputBuffer(1_000_000);
  for (let at = 0; at < 300; at += 100) b.append(ramp(at, 100), at);
  b.trimBefore(0); // before the start: nothing
  assert.deepEqual(bounds(b), [0, 300, 300]);
  b.trimBefore(150);
  assert.deepEqual(bounds(b), [150, 300, 150]);
  assert.deepEqual(samples(b.slice(0, 1000)), range(150, 300));
  b.trimBefore(100); // already gone: no-op
  assert.deepEqual(bounds(b), [150, 300, 150]);
  b.trimBefore(200);
  assert.deepEqual(samples(b.slice(0, 1000)), range(200, 300));
  b.trimBefore(10_000); // past the end: empty, positioned at the end
  assert.deepEqual(bounds(b), [300, 300, 0]);
  b.append(ramp(300, 10), 300);
  assert.deepEqual(samples(b.slice(0, 1000)), range(300, 310));
});

test('slice is clipped to what is buffered and copies', () => {
  const b = new InputBuffer(1_000_000);
  b.append(ramp(1000, 100), 1000);
  b.append(ramp(1100, 100), 1100);
  const rows: Array<[number, number, number[]]> = [
    [1000, 1200, range(1000, 1200)],
    [0, 1050, range(1000, 1050)],
    [1150, 5000, range(1150, 1200)],
    [1090, 1110, range(1090, 1110)],
    [0, 1000, []],
    [1200, 1300, []],
    [1100, 1100, []],
    [1150, 1120, []],
  ];
  for (const [from, to, expected] of rows) assert.deepEqual(samples(b.slice(from, to)), expected, `[${from}, ${to})`);
  const copy = b.slice(1000, 1010);
  copy.fill(0x7f);
  assert.deepEqual(samples(b.slice(1000, 1010)), range(1000, 1010), 'slice returns a copy');
});

test('take returns [from, to) and drops everything before to', () => {
  const b = new InputBuffer(1_000_000);
  b.append(ramp(0, 1000), 0);
  assert.deepEqual(samples(b.take(200, 600)), range(200, 600));
  assert.deepEqual(bounds(b), [600, 1000, 400]);
  assert.deepEqual(samples(b.take(0, 700)), range(600, 700));
  assert.deepEqual(bounds(b), [700, 1000, 300]);
});

test('clear empties the buffer and continues at the given sample', () => {
  const b = new InputBuffer(1_000_000);
  b.append(ramp(0, 500), 0);
  b.clear();
  assert.deepEqual(bounds(b), [500, 500, 0]);
  b.append(ramp(500, 100), 500);
  assert.deepEqual(samples(b.slice(0, 10_000)), range(500, 600));
  b.clear(5000);
  assert.deepEqual(bounds(b), [5000, 5000, 0]);
  // A frame from before the clear (redelivered) is skipped, a later one leaves a silent gap.
  assert.equal(b.append(ramp(4900, 50), 4900), 0);
  assert.deepEqual(bounds(b), [5000, 5000, 0]);
  b.append(ramp(5020, 10), 5020);
  assert.deepEqual(samples(b.slice(0, 10_000)), [...zeros(20), ...range(5020, 5030)]);
});

test('maxSamples: the oldest audio is dropped and the count returned', () => {
  const b = new InputBuffer(1000);
  assert.equal(b.append(ramp(0, 600), 0), 0);
  assert.equal(b.append(ramp(600, 600), 600), 200);
  assert.deepEqual(bounds(b), [200, 1200, 1000]);
  assert.deepEqual(samples(b.slice(0, 10_000)), range(200, 1200));
  // One append bigger than the cap keeps its newest part.
  assert.equal(b.append(ramp(1200, 2500), 1200), 2500);
  assert.deepEqual(bounds(b), [2700, 3700, 1000]);
  assert.deepEqual(samples(b.slice(0, 10_000)), range(2700, 3700));
  // A gap counts towards the cap too.
  assert.equal(b.append(ramp(4500, 100), 4500), 900);
  assert.deepEqual(bounds(b), [3600, 4600, 1000]);
  assert.deepEqual(samples(b.slice(0, 10_000)), [...range(3600, 3700), ...zeros(800), ...range(4500, 4600)]);
});

test('append works on views into a larger buffer', () => {
  const b = new InputBuffer(1_000_000);
  const backing = new Uint8Array(1000);
  backing.set(ramp(0, 100), 200);
  b.append(backing.subarray(200, 400), 0);
  assert.deepEqual(samples(b.slice(0, 100)), range(0, 100));
});

test('appended audio is copied: the buffer never holds on to the caller bytes (a bus message pins its socket read)', () => {
  const b = new InputBuffer(1_000_000);
  const message = ramp(0, 480);
  b.append(message, 0);
  message.fill(0x7f);
  assert.deepEqual(samples(b.slice(0, 480)), range(0, 480));
});

test('a gap far longer than the cap keeps only the cap of silence and the new audio', () => {
  const b = new InputBuffer(1000);
  b.append(ramp(0, 100), 0);
  assert.equal(b.append(ramp(500, 100), 1_000_000_000), 1_000_000_100 - 1000);
  assert.deepEqual(bounds(b), [1_000_000_100 - 1000, 1_000_000_100, 1000]);
  assert.deepEqual(samples(b.slice(0, 2_000_000_000)), [...zeros(900), ...range(500, 600)]);
});

test('long use through trims and takes keeps positions and content exact', () => {
  const b = new InputBuffer(48_000);
  let next = 0;
  for (let round = 0; round < 200; round++) {
    for (let i = 0; i < 25; i++, next += 960) b.append(ramp(next, 960), next);
    if (round % 3 === 0) assert.deepEqual(samples(b.take(next - 12_000, next - 2_400)), range(next - 12_000, next - 2_400));
    else b.trimBefore(next - 7_200);
    assert.equal(b.endSample, next);
    assert.deepEqual(samples(b.slice(next - 2_400, next)), range(next - 2_400, next));
  }
});
