// A TCP port that was free on 127.0.0.1 a moment ago: for child processes (nats-server nodes,
// PostgreSQL, gateways) whose address must be known before they start or must survive a restart.
import { createServer } from 'node:net';

export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', resolve);
  });
  const address = probe.address();
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('could not read a free port');
  return address.port;
}

/** Whether a start failed because a port picked by freePort() was taken in between (by anything). */
export function isPortTaken(err: unknown): boolean {
  const text = err instanceof Error ? `${err.message} ${JSON.stringify((err as { json?: unknown }).json ?? '')}` : String(err);
  return /port is already allocated|address already in use|EADDRINUSE/i.test(text);
}

/**
 * Start something on `count` ports picked by freePort(). A picked port is only free at the moment
 * it was probed: another process's outgoing connection can take it as its source port before the
 * start binds it (seen with Docker's "port is already allocated"), so a start that fails for that
 * reason is tried again on fresh ports.
 */
export async function onFreePorts<T>(count: number, start: (ports: number[]) => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const ports = await Promise.all(Array.from({ length: count }, () => freePort()));
    try {
      return await start(ports);
    } catch (err) {
      if (attempt >= attempts || !isPortTaken(err)) throw err;
    }
  }
}
