// Starts a whole Parley in-process for an integration test: its own nats-server (spawned, real
// JetStream), a real PostgreSQL schema of its own, every stage, and the gateway on random ports.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../lib/config.ts';
import { createRootLogger } from '../../lib/logger.ts';
import { startRoles, ALL_ROLES, type Role, type Running } from '../../ops/runtime.ts';
import { acquireTestPostgres } from './postgres.ts';

export const TEST_KEY = 'sk-test-parley-key-a';
export const TEST_KEY_B = 'sk-test-parley-key-b';

export interface TestPlatform {
  readonly running: Running;
  readonly wssBase: string;
  readonly wsBase: string;
  readonly httpBase: string;
  readonly certFile: string;
  readonly db: { readonly url: string; readonly schema: string };
  stop(): Promise<void>;
}

export async function startTestPlatform(opts: { env?: Record<string, string>; roles?: readonly Role[]; natsUrl?: string } = {}): Promise<TestPlatform> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'parley-test-'));
  const pg = await acquireTestPostgres();
  const env: Record<string, string> = {
    PARLEY_DATA_DIR: dataDir,
    PARLEY_HOST: '127.0.0.1',
    PARLEY_PORT: '0',
    PARLEY_TLS_PORT: '0',
    PARLEY_API_KEYS: `${TEST_KEY}:tenant-a,${TEST_KEY_B}:tenant-b`,
    DATABASE_URL: pg.url,
    PARLEY_DB_SCHEMA: pg.schema,
    PARLEY_INSTANCE_ID: `test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
    PARLEY_LOG_LEVEL: process.env['PARLEY_TEST_LOG'] ? 'debug' : 'silent',
    // The suite runs test files side by side on two cores: a test's own work in this thread, or
    // another file's, would read as the gateway's overload and refuse its sessions. The load gate
    // has its own tests (overload.test.ts, admission.test.ts), which set it.
    PARLEY_ADMISSION_MAX_LAG_MS: '0',
    ...(opts.natsUrl ? { NATS_URL: opts.natsUrl } : {}),
    ...opts.env,
  };
  const config = loadConfig(env);
  const log = createRootLogger({ level: config.logLevel, destination: process.stderr });
  const running = await startRoles(config, log, { roles: opts.roles ?? ALL_ROLES, threads: ['vad'] });
  const gw = running.gateway;
  return {
    running,
    wssBase: gw ? `https://127.0.0.1:${gw.tlsPort}/v1` : '',
    wsBase: gw ? `ws://127.0.0.1:${gw.port}/v1` : '',
    httpBase: gw ? `http://127.0.0.1:${gw.port}` : '',
    certFile: gw?.certFile ?? '',
    db: pg,
    async stop() {
      // A stop that hangs would otherwise only show as a test file that never ends.
      const watchdog = setInterval(() => process.stderr.write(`test platform: stop still waiting on ${running.stopping() ?? '(between steps)'}; active: ${process.getActiveResourcesInfo().join(',')}\n`), 20_000);
      await running.stop().finally(() => clearInterval(watchdog));
      await pg.drop().catch(() => undefined);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
