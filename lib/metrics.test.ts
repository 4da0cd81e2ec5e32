// Hot-path counters count in plain numbers and reach prom-client when the registry is collected:
// every increment must show in the exposition, together with ordinary inc() calls on the series.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exposition, hotCounter, metrics } from './metrics.ts';

const series = (text: string, line: string) => Number(text.split('\n').find((l) => l.startsWith(line))?.split(' ').at(-1) ?? NaN);

test('a hot counter shows every increment at each scrape, added to ordinary incs of the same series', async () => {
  const appends = hotCounter(metrics.clientEvents, { type: 'input_audio_buffer.append' });
  const before = series(await exposition(), 'parley_client_events_total{type="input_audio_buffer.append"}');
  const base = Number.isNaN(before) ? 0 : before;
  for (let i = 0; i < 1_000; i++) appends.inc();
  metrics.clientEvents.inc({ type: 'input_audio_buffer.append' });
  assert.equal(series(await exposition(), 'parley_client_events_total{type="input_audio_buffer.append"}'), base + 1_001);
  // Counted once: a second scrape without new increments shows the same total.
  assert.equal(series(await exposition(), 'parley_client_events_total{type="input_audio_buffer.append"}'), base + 1_001);
  appends.inc(5);
  assert.equal(series(await exposition(), 'parley_client_events_total{type="input_audio_buffer.append"}'), base + 1_006);
});
