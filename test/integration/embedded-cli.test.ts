// [integration] The embedded default as `npm start` runs it: the CLI spawns nats-server, uses
// PGlite (no DATABASE_URL), starts every stage and the gateway, prints URLs, key and a snippet that
// works as printed, and stops everything (its nats-server too) on SIGTERM. The conversation is in
// the PGlite database afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { openDatabase } from '../../stages/persist/db/database.ts';
import { createConversationLog } from '../../stages/persist/db/conversation-log.ts';

const root = path.resolve(import.meta.dirname, '../..');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('npm start: embedded Parley serves the printed snippet and stops cleanly on SIGTERM', { timeout: 120_000 }, async () => {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'parley-cli-'));
  const env: NodeJS.ProcessEnv = { ...process.env, PARLEY_DATA_DIR: dataDir, PARLEY_PORT: '0', PARLEY_TLS_PORT: '0', PARLEY_HOST: '127.0.0.1', PARLEY_LOG_LEVEL: 'info' };
  for (const k of ['NATS_URL', 'DATABASE_URL', 'PARLEY_API_KEYS', 'OPENAI_BASE_URL', 'OPENAI_API_KEY']) delete env[k];
  const child = spawn(process.execPath, ['--import', 'tsx', 'ops/cli.ts'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const deadline = Date.now() + 60_000;
    while (!out.includes('Ctrl-C stops everything')) {
      assert.ok(Date.now() < deadline && child.exitCode === null, `banner not printed: ${out.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const natsPid = Number(/"natsPid":(\d+)/.exec(out)?.[1]);
    assert.ok(alive(natsPid), 'embedded nats-server runs');
    assert.match(out, /API key\s+sk-parley-/);
    assert.match(out, /PGlite in /);
    // Embedded, the stages doing synchronous CPU work (ONNX, PGlite) run off the gateway's thread.
    for (const stage of ['vad', 'persist']) {
      assert.match(out, new RegExp(`"stage":"${stage}","thread":true.*"msg":"${stage} stage started"`), `${stage} runs in a worker thread`);
    }
    // The embedded nats-server gets a scheduler thread per core, and its CPU is on Parley's /metrics.
    const environ = await readFile(`/proc/${natsPid}/environ`, 'latin1');
    assert.ok(environ.split('\0').includes(`GOMAXPROCS=${os.availableParallelism()}`), 'GOMAXPROCS set');
    const health = /Health\s+(http:\/\/\S+)\/health/.exec(out)?.[1];
    const metricsText = await (await fetch(`${health}/metrics`)).text();
    const natsCpu = Number(/^parley_child_process_cpu_seconds\{child="nats-server"\} (\S+)$/m.exec(metricsText)?.[1]);
    assert.ok(natsCpu > 0, `nats-server CPU seconds on /metrics: ${natsCpu}`);

    // Run the snippet exactly as printed, with the command line it prints.
    const snippet = out
      .split('\n')
      .filter((l) => l.startsWith('    '))
      .map((l) => l.slice(4))
      .join('\n');
    const runLine = /and run it with: (.*) node client\.mjs/.exec(out)?.[1] ?? '';
    const [caVar, caPath] = runLine.trim().split('=');
    assert.equal(caVar, 'NODE_EXTRA_CA_CERTS');
    const clientFile = path.join(root, `.snippet-${process.pid}.mjs`);
    await writeFile(clientFile, snippet);
    try {
      const run = spawn(process.execPath, [clientFile], { cwd: root, env: { ...process.env, NODE_EXTRA_CA_CERTS: caPath! }, stdio: ['ignore', 'pipe', 'pipe'] });
      let answer = '';
      run.stdout.on('data', (b: Buffer) => (answer += b.toString()));
      run.stderr.on('data', (b: Buffer) => (answer += b.toString()));
      const code = await new Promise<number | null>((resolve) => run.once('exit', resolve));
      assert.equal(code, 0, answer);
      assert.equal(answer.trim(), 'You said: Hello Parley');
    } finally {
      await rm(clientFile, { force: true });
    }

    child.kill('SIGTERM');
    const code = await exited;
    assert.equal(code, 0, out.slice(-2000));
    assert.match(out, /"msg":"stopped"/);
    assert.ok(!alive(natsPid), 'nats-server stopped with it');

    // The conversation landed in the embedded PGlite database.
    const db = await openDatabase({ dataDir: path.join(dataDir, 'pgdata') });
    try {
      const sid = /"session_id":"(sess_[A-Za-z0-9]+)"/.exec(out)?.[1];
      assert.ok(sid);
      const items = await createConversationLog(db.db).listItems(sid);
      assert.deepEqual(
        items.map((i) => [i.role, i.type]),
        [
          ['user', 'message'],
          ['assistant', 'message'],
        ],
      );
    } finally {
      await db.close();
    }
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  }
});
