// inBatches: size and linger bounds, nothing lost or reordered across batches, and the end of the
// source ends the batches (with the last partial batch delivered).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { inBatches } from './batches.ts';

/** Items at the given times (ms from start). */
async function* timed(schedule: ReadonlyArray<readonly [at: number, item: number]>): AsyncGenerator<number> {
  const start = performance.now();
  for (const [at, item] of schedule) {
    const wait = start + at - performance.now();
    if (wait > 0) await sleep(wait);
    yield item;
  }
}

test('a burst is cut at max; everything arrives once, in order', async () => {
  const items = Array.from({ length: 1_050 }, (_, i) => i);
  const batches: number[][] = [];
  for await (const b of inBatches(timed(items.map((i) => [0, i] as const)), 500, 1_000)) batches.push(b);
  assert.deepEqual(batches.map((b) => b.length), [500, 500, 50]);
  assert.deepEqual(batches.flat(), items);
});

test('a batch closes lingerMs after its first item; a late item opens the next one', async () => {
  const batches: Array<{ items: number[]; at: number }> = [];
  const start = performance.now();
  for await (const b of inBatches(timed([[0, 1], [20, 2], [300, 3], [320, 4], [700, 5]]), 100, 100)) batches.push({ items: b, at: performance.now() - start });
  assert.deepEqual(batches.map((b) => b.items), [[1, 2], [3, 4], [5]]);
  // Closed by the linger timer, not by the next item: the first batch leaves ~100 ms in, long
  // before item 3 (300 ms); generous bounds for a loaded machine.
  assert.ok(batches[0]!.at >= 95 && batches[0]!.at < 290, `first batch at ${batches[0]!.at.toFixed(0)} ms`);
  assert.ok(batches[1]!.at >= 395 && batches[1]!.at < 690, `second batch at ${batches[1]!.at.toFixed(0)} ms`);
});

test('the end of the source delivers the partial batch and ends', async () => {
  const batches: number[][] = [];
  for await (const b of inBatches(timed([[0, 1], [5, 2]]), 10, 5_000)) batches.push(b);
  assert.deepEqual(batches, [[1, 2]]);
  const none: number[][] = [];
  for await (const b of inBatches(timed([]), 10, 50)) none.push(b);
  assert.deepEqual(none, []);
});
