// Admission: the load gate reads this thread's real event loop (LoadMonitor) — a loop kept busy
// for longer than the window refuses new sessions as 'overloaded', a short burst does not, and
// the gate opens again once the loop is back on time. The order of the other verdicts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Admission, LOAD_WINDOW_MS, LoadMonitor, refusalMessage } from './admission.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Keep this thread's loop busy: `busyMs` of synchronous work out of every `busyMs + 5` ms, for `forMs`. */
async function hog(busyMs: number, forMs: number): Promise<void> {
  const end = performance.now() + forMs;
  while (performance.now() < end) {
    const until = performance.now() + busyMs;
    while (performance.now() < until) {
      // spin: what a saturated gateway's callbacks look like to its loop
    }
    await sleep(5);
  }
}

test('a loop kept busy for longer than the window refuses new sessions; a short burst does not; it reopens when the loop is back on time', { timeout: 30_000 }, async () => {
  const monitor = new LoadMonitor();
  const admission = new Admission({ perSecond: 1_000, maxConnections: 100, maxLagMs: 25, lagMs: () => monitor.delayMs() });
  try {
    assert.equal(monitor.delayMs(), 0, 'nothing is judged before a whole window was seen');
    await sleep(LOAD_WINDOW_MS + 300);
    assert.equal(admission.check(0), 'ok', `an idle loop admits (mean delay ${monitor.delayMs().toFixed(1)} ms)`);

    await hog(80, 150); // one burst (a GC, a large message): not overload
    await sleep(300);
    assert.equal(admission.check(0), 'ok', `a 150 ms burst in a ${LOAD_WINDOW_MS} ms window is not overload (mean delay ${monitor.delayMs().toFixed(1)} ms)`);

    await hog(80, LOAD_WINDOW_MS + 500);
    const lag = monitor.delayMs();
    assert.ok(lag > 25, `sustained work makes the loop late: mean delay ${lag.toFixed(1)} ms`);
    assert.equal(admission.check(0), 'overloaded');
    assert.match(refusalMessage('overloaded', admission), /overloaded \(its event loop ran \d+ ms late on average over the last 2 s\); retry shortly or on another instance/);
    assert.ok(monitor.utilization() > 0.5, `the busy share shows it too: ${monitor.utilization().toFixed(2)}`);

    await sleep(LOAD_WINDOW_MS + 500);
    assert.equal(admission.check(0), 'ok', `back on time, the gate reopens (mean delay ${monitor.delayMs().toFixed(1)} ms)`);
  } finally {
    monitor.stop();
  }
});

test('verdict order: draining, then the connection cap, then the load gate, then the rate; the gate reports closing and opening once each; at 0 it never refuses', () => {
  let lag = 100;
  const admission = new Admission({ perSecond: 2, maxConnections: 10, maxLagMs: 25, lagMs: () => lag });
  assert.equal(admission.check(10), 'at_capacity', 'the descriptor cap comes before load');
  assert.equal(admission.check(0), 'overloaded');
  lag = 0;
  assert.equal(admission.check(0), 'ok');
  assert.equal(admission.check(0), 'ok');
  assert.equal(admission.check(0), 'rate_limited', 'the bucket of 2 is empty');
  admission.drain();
  assert.equal(admission.check(0), 'draining');

  const transitions: Array<{ closed: boolean; refused: number }> = [];
  let load = 100;
  const logged = new Admission({ perSecond: 100, maxConnections: 10, maxLagMs: 25, lagMs: () => load, onGate: ({ closed, refused }) => transitions.push({ closed, refused }) });
  for (let i = 0; i < 3; i++) assert.equal(logged.check(0), 'overloaded');
  load = 5;
  assert.equal(logged.check(0), 'ok');
  assert.equal(logged.check(0), 'ok');
  assert.deepEqual(transitions, [{ closed: true, refused: 0 }, { closed: false, refused: 3 }], 'one report when the gate closes, one with the count when it opens');

  const ungated = new Admission({ perSecond: 100, maxConnections: 10, maxLagMs: 0, lagMs: () => 10_000 });
  assert.equal(ungated.check(0), 'ok', 'PARLEY_ADMISSION_MAX_LAG_MS=0 turns the gate off');
});
