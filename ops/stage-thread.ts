// Worker-thread entry that runs one stage with its own NATS connection. Used in the embedded mode
// for the stages whose work is synchronous CPU that would otherwise stall the gateway's event
// loop: the VAD (ONNX inference) and persistence (PGlite). Metrics are shipped to the parent so
// /metrics shows them.
import { readlinkSync } from 'node:fs';
import os from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import type { ParleyConfig } from '../lib/config.ts';
import { createRootLogger } from '../lib/logger.ts';
import { registry } from '../lib/metrics.ts';
import { connectBus } from '../lib/nats/bus.ts';
import { ensureTopology, topologyOptionsFrom } from '../lib/nats/topology.ts';
import { errorMessage } from '../lib/errors.ts';
import type { StageName } from '../lib/stage.ts';
import { createCatalogue } from '../subjects/index.ts';
import { stageStarters } from './runtime.ts';

interface ThreadInput {
  readonly stage: StageName;
  readonly config: ParleyConfig;
  readonly natsUrl: string;
}

/**
 * Lower this thread's scheduling priority (Linux: a thread has its own niceness, addressed by its
 * id). Without privileges a priority can only go down, so this never fails for lack of rights;
 * elsewhere it is skipped.
 */
function niceThisThread(nice: number, log: ReturnType<typeof createRootLogger>): void {
  if (process.platform !== 'linux' || nice <= 0) return;
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    os.setPriority(tid, nice);
    log.debug({ tid, nice }, 'stage thread niced');
  } catch (err) {
    log.warn({ err: errorMessage(err) }, 'could not lower the stage thread priority');
  }
}

export type ThreadMessage = { type: 'ready' } | { type: 'failed'; error: string } | { type: 'metrics'; json: unknown } | { type: 'stopped' };

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('stage-thread must run in a worker thread');
  const { stage, config, natsUrl } = workerData as ThreadInput;
  const log = createRootLogger({ level: config.logLevel, name: `parley-${stage}` }).child({ stage, thread: true });
  // Persistence is throughput work: its bursts must not delay the VAD and the gateway.
  if (stage === 'persist') niceThisThread(config.db.threadNice, log);
  const catalogue = createCatalogue({ prefix: config.nats.prefix, partitions: config.nats.partitions });
  const bus = await connectBus({ url: natsUrl, name: `parley-${config.instanceId}-${stage}`, catalogue, log });
  const buckets = await ensureTopology(bus, topologyOptionsFrom(config), log);
  const running = await stageStarters[stage]({ config, bus, buckets, log });
  let ready = running.ready();
  const post = (m: ThreadMessage) => port.postMessage(m);
  post({ type: 'ready' });
  const timer = setInterval(() => {
    ready = running.ready();
    registry
      .getMetricsAsJSON()
      .then((json) => post({ type: 'metrics', json: { ready, metrics: json } }))
      .catch(() => undefined);
  }, 2_000);
  port.on('message', (m: { type: string }) => {
    if (m.type !== 'stop') return;
    clearInterval(timer);
    void (async () => {
      await running.stop().catch((err: unknown) => log.error({ err: errorMessage(err) }, 'stage stop failed'));
      await bus.close();
      post({ type: 'stopped' });
      port.close();
    })();
  });
}

main().catch((err: unknown) => {
  parentPort?.postMessage({ type: 'failed', error: errorMessage(err) } satisfies ThreadMessage);
});
