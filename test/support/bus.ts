// A real nats-server with JetStream of a test's own (spawned, in a temporary store) and a Parley
// Bus connected to it, for tests of the bus-level building blocks.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startNatsServer, type NatsServerHandle } from '../../ops/nats-server.ts';
import { connectBus, type Bus } from '../../lib/nats/bus.ts';
import { createRootLogger, type Logger } from '../../lib/logger.ts';
import { createCatalogue } from '../../subjects/index.ts';

export interface TestBus {
  readonly bus: Bus;
  readonly server: NatsServerHandle;
  stop(): Promise<void>;
}

export async function startTestBus(opts: { prefix: string; partitions?: number; log?: Logger }): Promise<TestBus> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `parley-${opts.prefix}-`));
  const server = await startNatsServer({ storeDir: dir });
  const bus = await connectBus({
    url: server.url,
    name: `${opts.prefix}-test`,
    catalogue: createCatalogue({ prefix: opts.prefix, partitions: opts.partitions ?? 1 }),
    log: opts.log ?? createRootLogger({ level: 'silent' }),
  });
  return {
    bus,
    server,
    async stop() {
      await bus.close();
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
