// NATS with JetStream for the containers suite: one node, or a 3-node JetStream cluster (server_name
// n1..n3, routes between them, each node's store inside its own container). In Docker the nodes
// share one network and reach each other by alias; the host reaches each through a client port
// pinned on 127.0.0.1, so a node killed and started again keeps its URL. Without Docker the same
// shapes are spawned from the nats-server binary (ops/nats-server.ts) with config files.
// `no_advertise` keeps the servers from gossiping container addresses to clients.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager, StorageType } from '@nats-io/jetstream';
import { Network, Wait, type StartedNetwork, type StartedTestContainer } from 'testcontainers';
import { startNatsServer, type NatsServerHandle } from '../../../ops/nats-server.ts';
import type { Backend } from './backend.ts';
import { RunNetworkNames } from './cleanup.ts';
import { dockerKill, dockerStart, dockerStop, LoopbackContainer } from './docker.ts';
import { freePort, onFreePorts } from '../../../lib/free-port.ts';

export interface NatsNode {
  readonly name: string;
  readonly url: string;
  /** The node's HTTP monitoring endpoint (`/jsz`, `/varz`), on 127.0.0.1. */
  readonly monitorUrl: string;
  /** SIGKILL: no lame duck, no flush (`docker kill`). */
  kill(): Promise<void>;
  /** SIGTERM, the graceful shutdown of a rolling restart (`docker stop`): leaderships are handed over first. */
  stop(): Promise<void>;
  /** Start a killed or stopped node again with its store. */
  start(): Promise<void>;
}

export interface NatsDeployment {
  readonly urls: readonly string[];
  readonly nodes: readonly NatsNode[];
  stop(): Promise<void>;
}

const CLUSTER = 'parley-test';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `store` undefined: the store directory comes from the command line (ops/nats-server.ts passes -sd). */
function nodeConfig(name: string, o: { listen: string; http: string; store?: string; cluster?: { listen: string; routes: string[] } }): string {
  const lines = [`server_name: ${name}`, `listen: "${o.listen}"`, `http: "${o.http}"`, o.store ? `jetstream { store_dir: "${o.store}" }` : 'jetstream: enabled'];
  if (o.cluster) {
    const routes = o.cluster.routes.map((r) => `nats-route://${r}`).join(', ');
    lines.push(`cluster { name: ${CLUSTER}, listen: "${o.cluster.listen}", no_advertise: true, routes: [${routes}] }`);
  }
  return `${lines.join('\n')}\n`;
}

/** Waits until JetStream can place a stream with `replicas` copies (meta leader elected, peers joined). */
export async function waitForJetStream(urls: readonly string[], replicas: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  for (let attempt = 0; Date.now() < deadline; attempt++) {
    // A node that was just started may accept TCP before it speaks NATS: connect anew each round.
    const nc = await connect({ servers: [...urls], timeout: 2_000 }).catch((err: unknown) => {
      lastError = (err as Error).message;
      return undefined;
    });
    try {
      if (nc) {
        const jsm = await jetstreamManager(nc, { timeout: 3_000 });
        const name = `PARLEY_TEST_PROBE_${attempt}`;
        await jsm.streams.add({ name, subjects: [`parley_test_probe.${attempt}`], num_replicas: replicas, storage: StorageType.Memory });
        await jsm.streams.delete(name);
        return;
      }
    } catch (err) {
      lastError = (err as Error).message;
    } finally {
      await nc?.close();
    }
    await sleep(250);
  }
  throw new Error(`JetStream (R${replicas}) not ready at ${urls.join(',')} after ${timeoutMs} ms: ${lastError}`);
}

function startDockerNats(image: string, count: number): Promise<NatsDeployment> {
  return onFreePorts(2 * count, (picked) => startDockerNatsOn(image, count, picked.slice(0, count), picked.slice(count)));
}

async function startDockerNatsOn(image: string, count: number, ports: number[], monitorPorts: number[]): Promise<NatsDeployment> {
  const names = Array.from({ length: count }, (_, i) => `n${i + 1}`);
  const network: StartedNetwork | undefined = count > 1 ? await new Network(new RunNetworkNames()).start() : undefined;
  const starting = await Promise.allSettled(
    names.map((name, i) => {
      const conf = nodeConfig(name, { listen: '0.0.0.0:4222', http: '0.0.0.0:8222', store: '/data', ...(network ? { cluster: { listen: '0.0.0.0:6222', routes: names.map((n) => `${n}:6222`) } } : {}) });
      const c = new LoopbackContainer(image)
        .withCopyContentToContainer([{ content: conf, target: '/parley-nats.conf' }])
        .withCommand(['-c', '/parley-nats.conf'])
        .withExposedPorts({ container: 4222, host: ports[i]! }, { container: 8222, host: monitorPorts[i]! })
        .withWaitStrategy(Wait.forLogMessage(/Server is ready/))
        .withStartupTimeout(30_000);
      if (network) c.withNetwork(network).withNetworkAliases(name);
      return c.start();
    }),
  );
  const containers: StartedTestContainer[] = starting.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const abandon = async (err: unknown): Promise<never> => {
    await Promise.allSettled(containers.map((c) => c.stop()));
    await network?.stop().catch(() => undefined);
    throw err;
  };
  const failed = starting.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) await abandon(failed.reason);
  const urls = ports.map((p) => `nats://127.0.0.1:${p}`);
  await waitForJetStream(urls, count).catch(abandon);
  return {
    urls,
    nodes: containers.map((c, i) => ({
      name: names[i]!,
      url: urls[i]!,
      monitorUrl: `http://127.0.0.1:${monitorPorts[i]}`,
      kill: () => dockerKill(c.getId()),
      stop: () => dockerStop(c.getId()),
      start: async () => {
        await dockerStart(c.getId());
        await waitForJetStream([urls[i]!], 1);
      },
    })),
    async stop() {
      await Promise.allSettled(containers.map((c) => c.stop({ timeout: 5_000 })));
      await network?.stop();
    },
  };
}

async function startSpawnedNats(count: number): Promise<NatsDeployment> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'parley-nats-cluster-'));
  const names = Array.from({ length: count }, (_, i) => `n${i + 1}`);
  const routePorts = await Promise.all(names.map(() => freePort()));
  const monitorPorts = await Promise.all(names.map(() => freePort()));
  const confs = await Promise.all(
    names.map(async (name, i) => {
      const file = path.join(dir, `${name}.conf`);
      const routes = routePorts.map((p) => `127.0.0.1:${p}`);
      await writeFile(file, nodeConfig(name, { listen: '127.0.0.1:-1', http: `127.0.0.1:${monitorPorts[i]}`, ...(count > 1 ? { cluster: { listen: `127.0.0.1:${routePorts[i]}`, routes } } : {}) }));
      return file;
    }),
  );
  const spawnNode = (i: number, port?: number) =>
    startNatsServer({ storeDir: path.join(dir, names[i]!), extraArgs: ['-c', confs[i]!], ...(port ? { port } : {}) });
  const started = await Promise.allSettled(names.map((_, i) => spawnNode(i)));
  const handles: NatsServerHandle[] = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const urls = handles.map((h) => h.url);
  const abandon = async (err: unknown): Promise<never> => {
    await Promise.allSettled(handles.map((h) => h.stop()));
    await rm(dir, { recursive: true, force: true });
    throw err;
  };
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) await abandon(failed.reason);
  await waitForJetStream(urls, count).catch(abandon);
  return {
    urls,
    nodes: names.map((name, i) => ({
      name,
      url: urls[i]!,
      monitorUrl: `http://127.0.0.1:${monitorPorts[i]}`,
      kill: () => {
        handles[i]!.kill();
        return Promise.resolve();
      },
      stop: () => handles[i]!.stop(),
      start: async () => {
        handles[i] = await spawnNode(i, handles[i]!.port);
        await waitForJetStream([urls[i]!], 1);
      },
    })),
    async stop() {
      await Promise.allSettled(handles.map((h) => h.stop()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export function startNats(backend: Backend, o: { nodes: 1 | 3 }): Promise<NatsDeployment> {
  return backend.kind === 'docker' ? startDockerNats(backend.natsImage, o.nodes) : startSpawnedNats(o.nodes);
}

/** The JetStream meta leader (it serves the JetStream API: stream and consumer creation), from a live node's /jsz. */
export async function metaLeader(d: NatsDeployment, except?: NatsNode): Promise<string> {
  for (const node of d.nodes) {
    if (node === except) continue;
    const jsz = (await fetch(`${node.monitorUrl}/jsz`).then((r) => r.json(), () => undefined)) as { meta_cluster?: { leader?: string } } | undefined;
    if (jsz?.meta_cluster?.leader) return jsz.meta_cluster.leader;
  }
  return '?';
}

/** Stream (and KV bucket) name -> the server leading its Raft group, as the cluster reports it now. */
export async function streamLeaders(urls: readonly string[]): Promise<Record<string, string>> {
  const nc = await connect({ servers: [...urls] });
  try {
    const jsm = await jetstreamManager(nc, { timeout: 5_000 });
    const leaders: Record<string, string> = {};
    for await (const s of jsm.streams.list()) leaders[s.config.name] = s.cluster?.leader ?? '?';
    return leaders;
  } finally {
    await nc.close();
  }
}

/**
 * Moves the leadership of every stream `node` leads to another replica ($JS.API.STREAM.LEADER.STEPDOWN,
 * what an operator does before maintenance) and waits until it leads none. Returns what it gave up.
 */
export async function drainLeadership(d: NatsDeployment, node: NatsNode, timeoutMs = 15_000): Promise<string[]> {
  const nc = await connect({ servers: [...d.urls] });
  const moved = new Set<string>();
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const leaders = await streamLeaders(d.urls);
      const led = Object.keys(leaders).filter((s) => leaders[s] === node.name);
      if (!led.length) return [...moved];
      if (Date.now() > deadline) throw new Error(`${node.name} still leads ${led.join(', ')} after ${timeoutMs} ms of step-downs`);
      for (const stream of led) {
        moved.add(stream);
        await nc.request(`$JS.API.STREAM.LEADER.STEPDOWN.${stream}`, undefined, { timeout: 5_000 }).catch(() => undefined);
      }
      await sleep(1_000);
    }
  } finally {
    await nc.close();
  }
}
