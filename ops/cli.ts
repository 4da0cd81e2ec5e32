// `parley` — one command for every way of running Parley:
//   parley                     embedded: nats-server (unless NATS_URL), database, every stage and the gateway
//   parley gateway             the gateway role only (against NATS_URL)
//   parley stage <name>        one stage: vad | stt | llm | tts | persist
//   parley roles a,b,c         several roles in one process
// Config is read once here, validated and frozen; SIGINT/SIGTERM drain and stop everything.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadConfig, withOverrides, type ParleyConfig } from '../lib/config.ts';
import { createRootLogger, type Logger } from '../lib/logger.ts';
import { metrics } from '../lib/metrics.ts';
import { ConfigError, errorMessage } from '../lib/errors.ts';
import { randomToken } from '../lib/ids.ts';
import { startTracing, stopTracing } from '../lib/tracing.ts';
import { ALL_ROLES, EMBEDDED_THREADS, startRoles, type Role, type Running } from './runtime.ts';
import { printBanner } from './banner.ts';

const STAGES = ['vad', 'stt', 'llm', 'tts', 'persist'] as const;

function parseRoles(argv: string[]): { roles: Role[]; embedded: boolean } {
  const [cmd, arg] = argv;
  if (!cmd || cmd === 'embedded') return { roles: [...ALL_ROLES], embedded: true };
  if (cmd === 'gateway') return { roles: ['gateway'], embedded: false };
  if (cmd === 'stage' && arg && (STAGES as readonly string[]).includes(arg)) return { roles: [arg as Role], embedded: false };
  if (cmd === 'roles' && arg) {
    const roles = arg.split(',').map((r) => r.trim());
    for (const r of roles) if (!(ALL_ROLES as readonly string[]).includes(r)) throw new ConfigError(`unknown role '${r}' (roles: ${ALL_ROLES.join(', ')})`);
    return { roles: roles as Role[], embedded: false };
  }
  throw new ConfigError(`usage: parley [embedded | gateway | stage <${STAGES.join('|')}> | roles <a,b,...>]`);
}

/** With no PARLEY_API_KEYS, the embedded mode makes one key and keeps it in the data directory. */
async function ensureLocalKey(config: ParleyConfig): Promise<ParleyConfig> {
  if (config.gateway.apiKeys.length > 0) return config;
  const file = path.join(config.dataDir, 'api-key');
  let key: string;
  try {
    key = (await readFile(file, 'utf8')).trim();
  } catch {
    key = `sk-parley-${randomToken(32)}`;
    await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
    await writeFile(file, `${key}\n`, { mode: 0o600 });
  }
  return withOverrides(config, { gateway: { apiKeys: [{ key, tenantId: 'default' }] } });
}

function installProcessGuards(log: Logger): void {
  process.on('unhandledRejection', (reason) => {
    metrics.unhandled.inc();
    log.error({ err: errorMessage(reason) }, 'unhandled promise rejection');
  });
  process.on('uncaughtException', (err) => {
    metrics.unhandled.inc();
    log.fatal({ err: errorMessage(err), stack: err.stack }, 'uncaught exception');
  });
}

async function main(): Promise<void> {
  const { roles, embedded } = parseRoles(process.argv.slice(2));
  let config = loadConfig();
  const log = createRootLogger({ level: config.logLevel });
  installProcessGuards(log);
  if (roles.includes('gateway') && config.gateway.apiKeys.length === 0) {
    if (!embedded) throw new ConfigError('PARLEY_API_KEYS is required for a gateway (key1:tenantA,key2:tenantB)');
    config = await ensureLocalKey(config);
  }
  await startTracing({ endpoint: config.otel.endpoint, serviceName: config.otel.serviceName });
  const running: Running = await startRoles(config, log, { roles, threads: embedded ? EMBEDDED_THREADS : [] });
  if (running.gateway) printBanner(running, embedded);
  else log.info({ roles, port: running.healthPort }, 'parley roles running');

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      log.warn({ signal }, 'second signal, exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      log.error('shutdown took too long, exiting');
      process.exit(1);
    }, 35_000);
    running
      .stop()
      .then(() => stopTracing())
      .then(() => {
        clearTimeout(force);
        log.info('stopped');
        log.flush();
        process.exit(0);
      })
      .catch((err: unknown) => {
        log.error({ err: errorMessage(err) }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((err: unknown) => {
  const message = err instanceof ConfigError ? err.message : errorMessage(err);
  process.stderr.write(`parley: ${message}\n`);
  process.exit(err instanceof ConfigError ? 2 : 1);
});
