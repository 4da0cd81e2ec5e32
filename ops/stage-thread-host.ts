// Parent side of a stage running in a worker thread: start it, wait until it consumes, expose its
// readiness and metrics, and stop it in order.
import { Worker } from 'node:worker_threads';
import type { ParleyConfig } from '../lib/config.ts';
import type { Logger } from '../lib/logger.ts';
import { addMetricsSource } from '../lib/metrics.ts';
import { ConfigError } from '../lib/errors.ts';
import type { Stage, StageName } from '../lib/stage.ts';
import type { ThreadMessage } from './stage-thread.ts';

const YOUNG_GENERATION_MB = 64;

export async function startStageThread(stage: StageName, config: ParleyConfig, natsUrl: string, log: Logger): Promise<Stage> {
  const worker = new Worker(new URL('./stage-thread-boot.mjs', import.meta.url), {
    workerData: { stage, config, natsUrl },
    // A larger young generation: a VAD thread allocates a small object per frame and message, and
    // scavenges of a small nursery were ~9% of its time at 300 streaming sessions.
    resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
  });
  let ready = false;
  let latest: unknown[] = [];
  const removeSource = addMetricsSource(() => latest);
  const stopped = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    worker.on('message', (m: ThreadMessage) => {
      if (m.type === 'ready') {
        ready = true;
        resolve();
      } else if (m.type === 'failed') {
        reject(new ConfigError(`${stage} stage thread failed: ${m.error}`));
      } else if (m.type === 'metrics') {
        const payload = m.json as { ready: boolean; metrics: unknown[] };
        ready = payload.ready;
        latest = payload.metrics;
      }
    });
    worker.once('error', (err) => reject(err));
    worker.once('exit', (code) => {
      ready = false;
      if (code !== 0) log.error({ stage, code }, 'stage thread exited');
      reject(new ConfigError(`${stage} stage thread exited with ${code}`));
    });
  });
  return {
    name: stage,
    ready: () => ready,
    async stop() {
      ready = false;
      removeSource();
      worker.postMessage({ type: 'stop' });
      const timer = setTimeout(() => void worker.terminate(), 15_000);
      await stopped;
      clearTimeout(timer);
    },
  };
}
