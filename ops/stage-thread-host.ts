// Parent side of a stage running in a worker thread: start it, wait until it consumes, expose its
// readiness and metrics, and stop it in order.
import v8 from 'node:v8';
import { Worker } from 'node:worker_threads';
import type { ParleyConfig } from '../lib/config.ts';
import type { Logger } from '../lib/logger.ts';
import { addMetricsSource } from '../lib/metrics.ts';
import { ConfigError } from '../lib/errors.ts';
import type { Stage, StageName } from '../lib/stage.ts';
import type { ThreadMessage } from './stage-thread.ts';

const YOUNG_GENERATION_MB = 64;
/**
 * Stage threads start with room in their old generation. With the 64 MB nursery and a heap of
 * ~16 MB, V8 kept starting full collections with the old generation at 15 of 39 MB: the VAD thread
 * ran four a second (125 in 30 s at 100 sessions, 740 ms of GC, pauses up to 15 ms); with 128 MB
 * to start from, 11 (66 ms), and ~4x more scavenges of ~2 ms. Per-thread heap flags do not exist
 * (`resourceLimits` sets only maximums), but this V8 flag is read when an isolate is created:
 * set before the first stage thread starts, it sizes the threads, not the running main thread.
 */
const INITIAL_OLD_GENERATION_MB = 128;
let threadHeapSized = false;

export async function startStageThread(stage: StageName, config: ParleyConfig, natsUrl: string, log: Logger): Promise<Stage> {
  if (!threadHeapSized) {
    v8.setFlagsFromString(`--initial-old-space-size=${INITIAL_OLD_GENERATION_MB}`);
    threadHeapSized = true;
  }
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
