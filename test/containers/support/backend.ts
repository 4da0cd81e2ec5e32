// Decides, once per test process, what the containers suite runs its NATS and PostgreSQL on:
// Docker containers (testcontainers) when an engine answers and the images are there or can be
// built (ops/containers/), otherwise spawned nats-server / PostgreSQL binaries — and then it says
// so loudly on stderr and in every test name, so a run without Docker can never pass unnoticed.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { armCleanup } from './cleanup.ts';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../../..');

export type Backend =
  | { readonly kind: 'docker'; readonly natsImage: string; readonly postgresImage: string }
  | { readonly kind: 'binaries'; readonly reason: string };

/** Shown in test names: `[docker: parley-test/nats:…]` or `[NO DOCKER: spawned binaries]`. */
export function backendLabel(b: Backend): string {
  return b.kind === 'docker' ? `[docker: ${b.natsImage}, ${b.postgresImage}]` : '[NO DOCKER: spawned binaries]';
}

function loudWarning(reason: string): void {
  const bar = '!'.repeat(100);
  process.stderr.write(
    `\n${bar}\n!! PARLEY CONTAINERS SUITE: NO DOCKER — running against spawned nats-server / PostgreSQL binaries instead.\n` +
      `!! Reason: ${reason}\n!! These results say nothing about the container setup. Fix Docker or unset PARLEY_FORCE_NO_DOCKER.\n${bar}\n\n`,
  );
}

async function script(name: string): Promise<string> {
  const { stdout } = await run('sh', [path.join(root, 'ops/containers', name)], { cwd: root, maxBuffer: 1 << 20 });
  return stdout;
}

function errorText(err: unknown): string {
  const e = err as { stderr?: string; message?: string };
  return (e.stderr?.trim() || e.message || String(err)).split('\n').slice(-3).join(' ');
}

async function images(): Promise<{ nats: string; postgres: string }> {
  const env = process.env;
  let nats = env['PARLEY_TEST_NATS_IMAGE'];
  let postgres = env['PARLEY_TEST_POSTGRES_IMAGE'];
  if (!nats || !postgres) {
    const out = await script('build-images.sh');
    nats = /^PARLEY_TEST_NATS_IMAGE=(.+)$/m.exec(out)?.[1];
    postgres = /^PARLEY_TEST_POSTGRES_IMAGE=(.+)$/m.exec(out)?.[1];
    if (!nats || !postgres) throw new Error(`build-images.sh printed no image names: ${out.slice(0, 300)}`);
  }
  return { nats, postgres };
}

async function decide(): Promise<Backend> {
  const env = process.env;
  if (env['PARLEY_FORCE_NO_DOCKER']) return { kind: 'binaries', reason: 'PARLEY_FORCE_NO_DOCKER is set' };
  if (env['PARLEY_NO_DOCKER_REASON']) return { kind: 'binaries', reason: env['PARLEY_NO_DOCKER_REASON'] };
  try {
    await script('ensure-docker.sh');
  } catch (err) {
    return { kind: 'binaries', reason: `no Docker engine: ${errorText(err)}` };
  }
  let found: { nats: string; postgres: string };
  try {
    found = await images();
  } catch (err) {
    return { kind: 'binaries', reason: `test images unavailable: ${errorText(err)}` };
  }
  // Ryuk's image comes from Docker Hub; cleanup.ts does its job. Loopback only, never a bridge IP.
  env['TESTCONTAINERS_RYUK_DISABLED'] ??= 'true';
  env['TESTCONTAINERS_HOST_OVERRIDE'] ??= '127.0.0.1';
  await armCleanup();
  return { kind: 'docker', natsImage: found.nats, postgresImage: found.postgres };
}

let chosen: Promise<Backend> | undefined;

export function resolveBackend(): Promise<Backend> {
  chosen ??= decide().then((b) => {
    if (b.kind === 'binaries') loudWarning(b.reason);
    return b;
  });
  return chosen;
}
