// Keeps the loadtest working: a short end-to-end run (the same options as the command line) against
// an embedded Parley with the null engines — 4 sessions over 2 worker processes, one turn each —
// checks every session completed without errors, every metric has a sane sample per turn, both
// reports were written, and no process the run started is left behind.
import assert from 'node:assert/strict';
import { readdir, readFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { parseCli } from './cli.ts';
import { SEED_METRICS } from './metrics.ts';
import { runLoadtest } from './run.ts';
import type { LoadtestResult } from './result.ts';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Pids of processes whose command line mentions `needle` (the embedded nats-server's store dir). */
async function processesMentioning(needle: string): Promise<number[]> {
  const pids = (await readdir('/proc')).filter((d) => /^\d+$/.test(d));
  const hits = await Promise.all(pids.map(async (p) => ((await readFile(`/proc/${p}/cmdline`, 'utf8').catch(() => '')).includes(needle) ? [Number(p)] : [])));
  return hits.flat();
}

test('loadtest: 4 sessions over 2 workers against an embedded Parley with null engines', { timeout: 120_000 }, async () => {
  const out = await mkdtemp(path.join(os.tmpdir(), 'parley-loadtest-test-'));
  try {
    const opts = parseCli(['--embedded', '--null-engines', '--sessions', '4', '--n-workers', '2', '--turns', '1', '--pause-ms', '100,300', '--out', out]);
    const { result, ok, processes } = await runLoadtest(opts);
    const errors = JSON.stringify({ errors: result.errors, samples: result.errorSamples, fatal: result.fatal });
    assert.ok(ok, `the run failed: ${errors}`);
    assert.deepEqual(
      { connected: result.totals.connected, failed: result.totals.failedSessions, dropped: result.totals.droppedSessions, completed: result.totals.turnsCompleted, errors: result.totals.errors },
      { connected: 4, failed: 0, dropped: 0, completed: 4, errors: 0 },
      errors,
    );
    for (const s of result.sessions) assert.equal(s.turnsCompleted, 1, `session ${s.session}`);
    for (const m of result.summaries) {
      assert.equal(m.count, 4, `${m.key} has a sample per turn`);
      assert.ok(m.min >= 0 && Number.isFinite(m.max), `${m.key}: ${m.min}..${m.max}`);
    }
    assert.deepEqual(SEED_METRICS, ['stt', 'vad', 'llm', 'tts_start', 'tts_rtf', 'eos_audio']);
    // The null engines answer at once: the VAD wait dominates, and the end-to-end stays well bounded.
    const eos = result.summaries.find((m) => m.key === 'eos_audio')!;
    assert.ok(eos.max < 5_000, `end of speech -> first audio max ${eos.max} ms`);
    for (const t of result.turns) assert.equal(t.answer, 'This is a null response. It has exactly two sentences.');

    const written = JSON.parse(await readFile(path.join(out, 'result.json'), 'utf8')) as LoadtestResult;
    assert.equal(written.turns.length, 4);
    assert.ok(!JSON.stringify(written).includes('sk-loadtest-'), 'the API key is not in result.json');
    const html = await readFile(path.join(out, 'report.html'), 'utf8');
    assert.ok(html.includes('<svg') && html.includes('Timeline') && !html.includes('<script'), 'report.html is a self-contained page with charts');

    for (const pid of processes.workers) assert.ok(!alive(pid), `worker ${pid} exited`);
    assert.ok(processes.embedded && !alive(processes.embedded.pid), 'embedded Parley exited');
    assert.deepEqual(await processesMentioning(processes.embedded.dataDir), [], 'its nats-server exited');
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});
