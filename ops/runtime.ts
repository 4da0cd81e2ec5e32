// Runs a set of Parley roles in this process: connects to NATS (or spawns a local nats-server when
// none is configured), creates the streams, consumers and buckets, starts the stages and the
// gateway, and stops them in order: stop accepting -> drain sessions -> stop stages -> close NATS.
import path from 'node:path';
import type { ParleyConfig } from '../lib/config.ts';
import type { Logger } from '../lib/logger.ts';
import { collectProcessMetrics, watchChildCpu } from '../lib/metrics.ts';
import { connectBus, type Bus } from '../lib/nats/bus.ts';
import { ensureTopology, topologyOptionsFrom } from '../lib/nats/topology.ts';
import type { Stage, StageDeps, StageName } from '../lib/stage.ts';
import { errorMessage } from '../lib/errors.ts';
import { createCatalogue } from '../subjects/index.ts';
import type { Gateway } from '../gateway/index.ts';
import { startNatsServer, type NatsServerHandle } from './nats-server.ts';
import { startStageThread } from './stage-thread-host.ts';
import { startHealthServer, type HealthServer } from './health-server.ts';

export type Role = 'gateway' | StageName;
const STOP_WARN_EVERY_MS = 10_000;

export const ALL_ROLES: readonly Role[] = ['persist', 'vad', 'stt', 'llm', 'tts', 'gateway'];
/** Stages the embedded default runs in worker threads, off the gateway's event loop. */
export const EMBEDDED_THREADS: readonly StageName[] = ['vad', 'persist'];

// Loaded on demand: a gateway process never pays for onnxruntime, PGlite or the engines' SDKs.
export const stageStarters: Record<StageName, (deps: StageDeps) => Promise<Stage>> = {
  vad: async (d) => (await import('../stages/vad/index.ts')).startVadStage(d),
  stt: async (d) => (await import('../stages/stt/index.ts')).startSttStage(d),
  llm: async (d) => (await import('../stages/llm/index.ts')).startLlmStage(d),
  tts: async (d) => (await import('../stages/tts/index.ts')).startTtsStage(d),
  persist: async (d) => (await import('../stages/persist/index.ts')).startPersistStage(d),
};

export interface RunOptions {
  readonly roles: readonly Role[];
  /**
   * Stages run in worker threads of their own: the VAD (its ONNX inference would otherwise block
   * the gateway) and, embedded, persistence (PGlite runs its queries synchronously in WebAssembly).
   */
  readonly threads?: readonly StageName[];
}

export interface Running {
  readonly config: ParleyConfig;
  readonly natsUrl: string;
  readonly bus: Bus;
  readonly gateway: Gateway | undefined;
  readonly stages: ReadonlyMap<string, Stage>;
  readonly healthPort: number | undefined;
  stop(): Promise<void>;
  /** The shutdown step in progress ("stage llm", "gateway"), if a stop is running. */
  stopping(): string | undefined;
}

/** Each step of a shutdown logs its duration, and a step that takes long says so while it waits. */
async function stopStep(log: Logger, fields: Record<string, unknown>, what: string, step: () => Promise<void>, progress: { step?: string }): Promise<void> {
  const started = performance.now();
  progress.step = [what, ...Object.values(fields)].join(' ');
  const ms = () => Math.round(performance.now() - started);
  const waiting = setInterval(() => log.warn({ ...fields, ms: ms() }, `${what}: still stopping`), STOP_WARN_EVERY_MS);
  try {
    await step();
  } finally {
    clearInterval(waiting);
    progress.step = undefined;
  }
  log.info({ ...fields, ms: ms() }, `${what} stopped`);
}

export async function startRoles(config: ParleyConfig, log: Logger, opts: RunOptions): Promise<Running> {
  collectProcessMetrics();
  let nats: NatsServerHandle | undefined;
  let natsUrl = config.nats.url;
  let unwatchNats: () => void = () => undefined;
  if (!natsUrl) {
    nats = await startNatsServer({ bin: config.nats.natsServerBin, storeDir: path.join(config.dataDir, 'nats'), goMaxProcs: config.nats.embeddedGoMaxProcs });
    natsUrl = nats.url;
    log.info({ url: natsUrl, natsPid: nats.pid }, 'embedded nats-server started');
    unwatchNats = watchChildCpu(nats.pid, 'nats-server');
  }
  const catalogue = createCatalogue({ prefix: config.nats.prefix, partitions: config.nats.partitions });
  const bus = await connectBus({ url: natsUrl, name: `parley-${config.instanceId}`, catalogue, log });
  const buckets = await ensureTopology(bus, topologyOptionsFrom(config), log);
  log.info({ server: bus.serverVersion, prefix: catalogue.prefix, partitions: catalogue.partitions }, 'jetstream topology ready');

  const stages = new Map<string, Stage>();
  const progress: { step?: string } = {};
  const deps: StageDeps = { config, bus, buckets, log };
  const stopAll = async () => {
    for (const s of [...stages.values()].reverse()) await stopStep(log, { stage: s.name }, 'stage', () => s.stop(), progress).catch((err: unknown) => log.error({ stage: s.name, err: errorMessage(err) }, 'stage stop failed'));
    await stopStep(log, {}, 'nats connection', () => bus.close(), progress);
    if (nats) await stopStep(log, { natsPid: nats.pid }, 'embedded nats-server', () => nats.stop(), progress);
    unwatchNats();
  };
  try {
    for (const role of opts.roles) {
      if (role === 'gateway') continue;
      const stage =
        opts.threads?.includes(role)
          ? await startStageThread(role, config, natsUrl, log)
          : await stageStarters[role]({ ...deps, log: log.child({ stage: role }) });
      stages.set(role, stage);
    }
  } catch (err) {
    await stopAll();
    throw err;
  }
  const readiness = () => Object.fromEntries([...stages].map(([name, s]) => [name, s.ready()]));
  let gateway: Gateway | undefined;
  let health: HealthServer | undefined;
  try {
    if (opts.roles.includes('gateway')) {
      const { startGateway } = await import('../gateway/index.ts');
      gateway = await startGateway({ config, bus, buckets, log: log.child({ component: 'gateway' }), readiness });
    } else {
      health = await startHealthServer({ host: config.gateway.host, port: config.gateway.port, readiness: () => ({ nats: !bus.nc.isClosed(), ...readiness() }) });
    }
  } catch (err) {
    await stopAll();
    throw err;
  }
  let stopping: Promise<void> | undefined;
  return {
    config,
    natsUrl,
    bus,
    gateway,
    stages,
    healthPort: health?.port,
    stopping: () => progress.step,
    stop() {
      stopping ??= (async () => {
        if (gateway) await stopStep(log, { component: 'gateway' }, 'gateway', () => gateway.stop(), progress);
        health?.stop();
        await stopAll();
      })();
      return stopping;
    },
  };
}
