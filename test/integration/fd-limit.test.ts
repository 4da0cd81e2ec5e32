// [integration] A gateway never runs out of file descriptors: its connection cap follows the
// process's open-file limit (less a reserve), so the connection past it is refused with HTTP 503
// and an OpenAI-style error body while the gateway stays healthy and idle (uWS would spin at 100%
// CPU on accept() failures), and a freed slot is usable again. Run under `prlimit --nofile=256`.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { startNatsServer, type NatsServerHandle } from '../../ops/nats-server.ts';
import { TEST_KEY } from '../support/platform.ts';
import { startRole, type RoleProcess } from '../support/processes.ts';

const FILE_LIMIT = 256;
let nats: NatsServerHandle;
let natsDir: string;
let gateway: RoleProcess;
let port: number;
let maxConnections: number;

before(async () => {
  natsDir = await mkdtemp(path.join(os.tmpdir(), 'parley-nats-'));
  nats = await startNatsServer({ storeDir: natsDir });
  gateway = await startRole(
    'gw-fd',
    ['gateway'],
    { NATS_URL: nats.url, PARLEY_API_KEYS: `${TEST_KEY}:tenant-a`, PARLEY_ADMISSION_PER_SECOND: '100000' },
    ['prlimit', `--nofile=${FILE_LIMIT}:${FILE_LIMIT}`],
  );
  const line = await gateway.waitFor(/"port":\d+[^\n]*gateway listening/, 60_000);
  port = Number(/"port":(\d+)/.exec(line)![1]);
  maxConnections = Number(/"maxConnections":(\d+)/.exec(line)![1]);
});
after(async () => {
  await gateway?.kill('SIGKILL');
  await nats?.stop();
  await rm(natsDir, { recursive: true, force: true });
});

type Outcome = { ok: true; ws: WebSocket } | { ok: false; status: number; body: string };

function connect(): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/realtime?model=gpt-realtime`, { headers: { Authorization: `Bearer ${TEST_KEY}` } });
    ws.once('message', (d) => {
      const e = JSON.parse(d.toString()) as { type: string };
      if (e.type === 'session.created') resolve({ ok: true, ws });
      else reject(new Error(`first event ${e.type}`));
    });
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (b: Buffer) => (body += b.toString()));
      res.on('end', () => resolve({ ok: false, status: res.statusCode ?? 0, body }));
    });
    ws.once('error', (err) => reject(err));
  });
}

async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks of 10 ms
}

test('the connection cap follows the open-file limit: refused with 503 before descriptors run out, healthy, idle, and usable again', { timeout: 120_000 }, async () => {
  const pid = gateway.child.pid!;
  assert.equal(maxConnections, FILE_LIMIT - 64, 'default cap = open-file limit less the reserve');

  const open: WebSocket[] = [];
  const refused: Array<{ status: number; body: string }> = [];
  const extra = 40;
  for (let i = 0; i < maxConnections + extra; i += 50) {
    const wave = await Promise.all(Array.from({ length: Math.min(50, maxConnections + extra - i) }, () => connect()));
    for (const o of wave) {
      if (o.ok) open.push(o.ws);
      else refused.push(o);
    }
  }
  assert.equal(open.length, maxConnections, 'every connection up to the cap gets a session');
  assert.equal(refused.length, extra, 'every connection past the cap is refused');
  for (const r of refused) {
    assert.equal(r.status, 503);
    assert.equal((JSON.parse(r.body) as { error: { code: string } }).error.code, 'at_capacity');
  }
  const fds = (await readdir(`/proc/${pid}/fd`)).length;
  assert.ok(fds < FILE_LIMIT - 16, `descriptors in use ${fds} stay below the limit ${FILE_LIMIT}`);

  // Not spinning: at the cap and with refused clients gone, the gateway is idle and answers.
  const before = await cpuSeconds(pid);
  await new Promise((r) => setTimeout(r, 2_000));
  const used = (await cpuSeconds(pid)) - before;
  assert.ok(used < 0.5, `gateway used ${used.toFixed(2)} s of CPU in 2 s at the cap`);
  const health = await fetch(`http://127.0.0.1:${port}/health`);
  assert.equal(health.status, 200);

  // A freed slot is usable again.
  for (const ws of open.splice(0, 5)) ws.close();
  await new Promise((r) => setTimeout(r, 500));
  const again = await connect();
  assert.ok(again.ok, 'a connection succeeds once slots are free');
  open.push(again.ws);
  for (const ws of open) ws.terminate();
});
