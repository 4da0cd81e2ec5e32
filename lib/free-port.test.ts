// onFreePorts: a start that finds its picked port taken (something bound it after the probe) is
// tried again on fresh ports; any other failure is not retried.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { onFreePorts } from './free-port.ts';

const listen = (port: number) =>
  new Promise<Server>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => resolve(s));
  });

test('a port taken between the probe and the bind is picked again', async () => {
  const squatters: Server[] = [];
  const tried: number[] = [];
  const server = await onFreePorts(1, async ([port]) => {
    tried.push(port!);
    if (tried.length === 1) squatters.push(await listen(port!)); // another process gets there first
    return listen(port!);
  });
  assert.equal(tried.length, 2);
  assert.notEqual(tried[0], tried[1]);
  assert.equal((server.address() as { port: number }).port, tried[1]);
  for (const s of [server, ...squatters]) s.close();
});

test('other failures are not retried, and a port that stays taken gives up after the attempts', async () => {
  let calls = 0;
  await assert.rejects(
    onFreePorts(2, async () => {
      calls++;
      throw new Error('image not found');
    }),
    /image not found/,
  );
  assert.equal(calls, 1);
  calls = 0;
  await assert.rejects(
    onFreePorts(1, async () => {
      calls++;
      throw new Error('Bind for 127.0.0.1:1 failed: port is already allocated');
    }, 3),
    /already allocated/,
  );
  assert.equal(calls, 3);
});
