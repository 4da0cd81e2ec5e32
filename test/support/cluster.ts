// A 3-node NATS JetStream cluster for integration tests, started from the real config files in
// ops/cluster (n1.conf, n2.conf, n3.conf + common.conf): three `nats-server -c` processes on free
// local ports with their stores in a temp dir, every value passed as the NATS config $VARIABLES the
// files read from the environment — the same files `ops/cluster/start-local.sh` uses on a laptop.
// Nodes can be killed with any signal (SIGKILL = crash, SIGTERM = graceful, SIGUSR2 = lame duck)
// and started again on the same ports with their stores. Every process and directory is removed by
// stop(), and by an exit hook if the test process ends without calling it.
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager, StorageType } from '@nats-io/jetstream';
import { freePort } from '../../lib/free-port.ts';

export const CLUSTER_CONFIG_DIR = path.resolve(import.meta.dirname, '../../ops/cluster');
export const NODE_NAMES = ['n1', 'n2', 'n3'] as const;
export type NodeName = (typeof NODE_NAMES)[number];

export interface ClusterNode {
  readonly name: NodeName;
  readonly url: string;
  readonly port: number;
  readonly clusterPort: number;
  readonly httpPort: number;
  readonly storeDir: string;
  /** PID of the running server, undefined while it is down. */
  pid(): number | undefined;
  running(): boolean;
  /** The server's log since the test began (all incarnations). */
  log(): string;
  /** Sends `signal` and resolves when the process has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Sends `signal` without waiting (SIGUSR2 = lame-duck mode: the node leaves over lame_duck_duration). */
  signal(signal: NodeJS.Signals): void;
  /** Starts the node again (same ports, same store) and waits for "Server is ready". */
  start(): Promise<void>;
}

export interface StreamPlacement {
  readonly leader: string;
  readonly replicas: ReadonlyArray<{ name: string; current: boolean }>;
}

export interface LocalCluster {
  readonly name: string;
  readonly dir: string;
  readonly nodes: readonly ClusterNode[];
  readonly urls: readonly string[];
  /** All three client URLs, comma-separated (what NATS_URL takes). */
  readonly natsUrl: string;
  node(name: string): ClusterNode;
  /** Waits until the cluster can place a stream with `replicas` copies (meta leader elected, peers known). */
  waitForJetStream(replicas?: number, timeoutMs?: number): Promise<number>;
  /** Stream (and KV bucket, `KV_<bucket>`) name -> leader and replicas, from a live node's /jsz. */
  placements(): Promise<Record<string, StreamPlacement>>;
  /** The JetStream meta group leader, as a live node sees it ('' while there is none). */
  metaLeader(): Promise<string>;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
const dirs = new Set<string>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The exit hook above does not run when this process is killed by a signal (a test-runner timeout,
 * Ctrl-C, SIGKILL). A detached shell watches our pid and, if we vanish while `dir` still exists,
 * SIGKILLs the servers listed in its pid files and deletes it. It ends by itself after stop().
 */
function removeWhenProcessEnds(dir: string): void {
  const script = [
    'while kill -0 "$1" 2>/dev/null && [ -d "$2" ]; do sleep 1; done',
    '[ -d "$2" ] || exit 0',
    'for f in "$2"/*.pid; do [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null; done',
    'rm -rf "$2"',
  ].join('\n');
  spawn('sh', ['-c', script, 'parley-cluster-cleanup', String(process.pid), dir], { detached: true, stdio: 'ignore' }).unref();
}


/** Nine distinct free ports (the OS could hand the same one out twice across probes). */
async function distinctPorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

export async function startLocalCluster(opts: { bin?: string; startTimeoutMs?: number; maxMemoryStore?: string; maxFileStore?: string } = {}): Promise<LocalCluster> {
  const bin = opts.bin ?? process.env['PARLEY_NATS_SERVER_BIN'] ?? 'nats-server';
  const dir = await mkdtemp(path.join(os.tmpdir(), 'parley-cluster-test-'));
  dirs.add(dir);
  removeWhenProcessEnds(dir);
  const name = `parley-test-${process.pid}`;
  const ports = await distinctPorts(9);
  const layout = NODE_NAMES.map((n, i) => ({
    name: n,
    port: ports[i]!,
    clusterPort: ports[3 + i]!,
    httpPort: ports[6 + i]!,
    storeDir: path.join(dir, n),
  }));
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    NATS_HOST: '127.0.0.1',
    NATS_CLUSTER_NAME: name,
    // Parley's R3 streams reserve ~1 GiB memory and ~3.25 GiB file per node at creation; the
    // reservation is bookkeeping, nothing is allocated up front.
    NATS_MAX_MEMORY_STORE: opts.maxMemoryStore ?? '2GB',
    NATS_MAX_FILE_STORE: opts.maxFileStore ?? '8GB',
  };
  layout.forEach((l, i) => {
    const k = `NATS_N${i + 1}`;
    env[`${k}_PORT`] = String(l.port);
    env[`${k}_CLUSTER_PORT`] = String(l.clusterPort);
    env[`${k}_HTTP_PORT`] = String(l.httpPort);
    env[`${k}_STORE_DIR`] = l.storeDir;
    env[`NATS_ROUTE_${i + 1}`] = `nats-route://127.0.0.1:${l.clusterPort}`;
  });

  const nodes: ClusterNode[] = layout.map((l) => {
    let child: ChildProcess | undefined;
    let exited: Promise<void> = Promise.resolve();
    let out = '';
    const node: ClusterNode = {
      ...l,
      url: `nats://127.0.0.1:${l.port}`,
      pid: () => (child && child.exitCode === null && child.signalCode === null ? child.pid : undefined),
      running: () => node.pid() !== undefined,
      log: () => out,
      async kill(signal = 'SIGKILL') {
        if (!node.running()) return;
        child!.kill(signal);
        await exited;
      },
      signal(signal) {
        if (node.running()) child!.kill(signal);
      },
      async start() {
        if (node.running()) return;
        await mkdir(l.storeDir, { recursive: true });
        const c = spawn(bin, ['-c', path.join(CLUSTER_CONFIG_DIR, `${l.name}.conf`)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
        child = c;
        live.add(c);
        exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
        void exited.then(() => live.delete(c));
        if (c.pid) await writeFile(path.join(dir, `${l.name}.pid`), String(c.pid));
        const from = out.length;
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => fail(new Error(`${l.name} not ready within ${opts.startTimeoutMs ?? 15_000} ms:\n${out.slice(from).slice(-1500)}`)), opts.startTimeoutMs ?? 15_000);
          const onData = (b: Buffer) => {
            out += b.toString();
            if (out.length > 4_000_000) out = out.slice(-2_000_000);
            if (/Server is ready/.test(out.slice(from))) {
              clearTimeout(timer);
              resolve();
            }
          };
          const fail = (err: Error) => {
            clearTimeout(timer);
            c.kill('SIGKILL');
            reject(err);
          };
          c.stdout!.on('data', onData);
          c.stderr!.on('data', onData);
          c.once('error', (err: NodeJS.ErrnoException) => fail(new Error(err.code === 'ENOENT' ? `${bin} is not installed (apt-get install nats-server)` : err.message)));
          c.once('exit', (code, signal) => fail(new Error(`${l.name} exited (${signal ?? code}) during start:\n${out.slice(from).slice(-1500)}`)));
        });
      },
    };
    return node;
  });

  const jszOf = async (n: ClusterNode, query: string): Promise<unknown> => {
    const r = await fetch(`http://127.0.0.1:${n.httpPort}/jsz${query}`, { signal: AbortSignal.timeout(2_000) });
    if (!r.ok) throw new Error(`${n.name} /jsz: HTTP ${r.status}`);
    return r.json();
  };
  const jsz = async (query: string): Promise<unknown> => {
    let lastErr: unknown;
    for (const n of nodes.filter((x) => x.running())) {
      try {
        return await jszOf(n, query);
      } catch (err) {
        lastErr = err;
      }
    }
    throw new Error(`no live node answered /jsz: ${String(lastErr)}`);
  };

  const cluster: LocalCluster = {
    name,
    dir,
    nodes,
    urls: nodes.map((n) => n.url),
    natsUrl: nodes.map((n) => n.url).join(','),
    node(n) {
      const found = nodes.find((x) => x.name === n);
      if (!found) throw new Error(`no node ${n} in the cluster (${NODE_NAMES.join(', ')})`);
      return found;
    },
    async waitForJetStream(replicas = 3, timeoutMs = 30_000) {
      const started = performance.now();
      const nc = await connect({ servers: nodes.filter((n) => n.running()).map((n) => n.url), maxReconnectAttempts: -1, reconnectTimeWait: 200 });
      try {
        for (let attempt = 0; ; attempt++) {
          try {
            const jsm = await jetstreamManager(nc, { timeout: 3_000 });
            const probe = `PARLEY_TEST_PROBE_${process.pid}_${attempt}`;
            await jsm.streams.add({ name: probe, subjects: [`parley_test_probe.${process.pid}.${attempt}`], num_replicas: replicas, storage: StorageType.Memory });
            await jsm.streams.delete(probe);
            return performance.now() - started;
          } catch (err) {
            if (performance.now() - started > timeoutMs) throw new Error(`JetStream (R${replicas}) not ready after ${timeoutMs} ms: ${(err as Error).message}`);
            await sleep(200);
          }
        }
      } finally {
        await nc.close();
      }
    },
    async placements() {
      // Only a stream's leader knows whether its followers are current; a follower (or a node that
      // just restarted) reports its own, possibly stale, view. So ask every live node and keep, per
      // stream, the entry of the node that says it leads it.
      type Jsz = { account_details?: Array<{ stream_detail?: Array<{ name: string; cluster?: { leader?: string; replicas?: Array<{ name: string; current: boolean }> } }> }> };
      const views = await Promise.all(nodes.filter((n) => n.running()).map(async (n) => ({ n, body: (await jszOf(n, '?streams=true').catch(() => ({}))) as Jsz })));
      const out: Record<string, StreamPlacement> = {};
      for (const { n, body } of views) {
        for (const acc of body.account_details ?? []) {
          for (const s of acc.stream_detail ?? []) {
            const entry = { leader: s.cluster?.leader ?? '', replicas: (s.cluster?.replicas ?? []).map((r) => ({ name: r.name, current: r.current })) };
            if (!out[s.name] || entry.leader === n.name) out[s.name] = entry;
          }
        }
      }
      return out;
    },
    async metaLeader() {
      const body = (await jsz('')) as { meta_cluster?: { leader?: string } };
      return body.meta_cluster?.leader ?? '';
    },
    async stop() {
      // SIGTERM (JetStream flushes), SIGKILL after 5 s; then the stores go.
      await Promise.allSettled(
        nodes.map(async (n) => {
          const timer = setTimeout(() => void n.kill('SIGKILL'), 5_000);
          await n.kill('SIGTERM');
          clearTimeout(timer);
        }),
      );
      await rm(dir, { recursive: true, force: true });
      dirs.delete(dir);
    },
  };

  try {
    await Promise.all(nodes.map((n) => n.start()));
    await cluster.waitForJetStream(3);
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}
