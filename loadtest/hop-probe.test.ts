// The bench's bus probe: run as a child process against a real nats-server it returns one
// publish -> handler time per message and leaves no stream behind; the path figures add five
// hops and take one away.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestBus } from '../test/support/bus.ts';
import { busPathQuantiles, runHopProbe } from './hop-probe.ts';

test('the probe times JetStream hops on a real nats-server and removes its stream', async () => {
  const testBus = await startTestBus({ prefix: 'hop' });
  try {
    const samples = await runHopProbe(testBus.server.url, 'hop', 1);
    // One message every 10 ms for a second (timers may stretch, a few may be in flight at the end).
    assert.ok(samples.length >= 50 && samples.length <= 101, `${samples.length} samples`);
    assert.ok(samples.every((ms) => ms > 0 && ms < 1_000), 'each is a plausible hop time');
    const streams = await testBus.bus.jsm.streams.names().next();
    assert.ok(!streams.includes(testBus.bus.cat.streams.benchHop), 'the probe stream is gone');
  } finally {
    await testBus.stop();
  }
});

test('the path is five hops less one, drawn from the samples', () => {
  assert.deepEqual(busPathQuantiles([2], [0.5, 0.99]), [8, 8]);
  // Half the hops 1 ms, half 3 ms: the path spans 5 - 3 = 2 ms to 15 - 1 = 14 ms, centred on 8.
  const [p0, p50, p100] = busPathQuantiles([1, 3], [0, 0.5, 0.99999]);
  assert.equal(p0, 2);
  assert.equal(p50, 8);
  assert.equal(p100, 14);
  assert.deepEqual(busPathQuantiles([1, 3], [0.9]), busPathQuantiles([1, 3], [0.9]), 'the same samples give the same figures');
  assert.ok(Number.isNaN(busPathQuantiles([], [0.5])[0]!));
});
