// Testcontainers pieces the suite shares: containers whose published ports bind to 127.0.0.1 only
// (never all interfaces; the host talks to them over loopback), every one labelled with this run
// (cleanup.ts), and the failure-injection verbs testcontainers has no API for (docker kill, a stop
// that keeps the container, a start of a stopped one).
import { GenericContainer, getContainerRuntimeClient, type StartedTestContainer } from 'testcontainers';
import { PostgreSqlContainer, type StartedPostgreSqlContainer } from '@testcontainers/postgresql';
import { RUN_LABELS } from './cleanup.ts';

function bindLoopback(hostConfig: { PortBindings?: Record<string, Array<{ HostIp?: string }>> }): void {
  for (const bindings of Object.values(hostConfig.PortBindings ?? {})) {
    for (const b of bindings) b.HostIp = '127.0.0.1';
  }
}

export class LoopbackContainer extends GenericContainer {
  constructor(image: string) {
    super(image);
    this.withLabels(RUN_LABELS);
  }
  override async start(): Promise<StartedTestContainer> {
    bindLoopback(this.hostConfig);
    return super.start();
  }
}

export class LoopbackPostgreSqlContainer extends PostgreSqlContainer {
  constructor(image: string) {
    super(image);
    this.withLabels(RUN_LABELS);
  }
  override async start(): Promise<StartedPostgreSqlContainer> {
    bindLoopback(this.hostConfig);
    return super.start();
  }
}

async function byId(id: string) {
  const client = await getContainerRuntimeClient();
  return client.container.getById(id);
}

/** `docker kill` (SIGKILL by default): the process dies, the container and its files stay. */
export async function dockerKill(id: string, signal = 'SIGKILL'): Promise<void> {
  await (await byId(id)).kill({ signal });
}

/** `docker stop`: the entry point's stop signal, then SIGKILL after `graceSeconds`; the container stays. */
export async function dockerStop(id: string, graceSeconds = 10): Promise<void> {
  await (await byId(id)).stop({ t: graceSeconds });
}

/** `docker start` of a stopped or killed container (same published ports when they are pinned). */
export async function dockerStart(id: string): Promise<void> {
  await (await byId(id)).start();
}

