// PostgreSQL for the containers suite, in a container (@testcontainers/postgresql on our image or
// the upstream one) or, without Docker, a server spawned from Debian's binaries. Either can be
// stopped and started again on the same port with its data (the database-outage scenario). Never
// the machine's own PostgreSQL: the suite must not touch what else runs here.
import type { Backend } from './backend.ts';
import { dockerStart, dockerStop, LoopbackPostgreSqlContainer } from './docker.ts';
import { startSpawnedPostgres } from './postgres-binary.ts';
import { FAST_SETTINGS, waitForPostgres, type PostgresDeployment } from './pg-client.ts';
import { onFreePorts } from '../../../lib/free-port.ts';

export type { PostgresDeployment } from './pg-client.ts';
export { conversationRows } from './pg-client.ts';

async function startDockerPostgres(image: string): Promise<PostgresDeployment> {
  const started = await onFreePorts(1, ([port]) =>
    new LoopbackPostgreSqlContainer(image)
      .withExposedPorts({ container: 5432, host: port! })
      .withCommand(['postgres', ...FAST_SETTINGS.flatMap((s) => ['-c', s])])
      .start(),
  );
  const url = started.getConnectionUri();
  await waitForPostgres(url);
  return {
    url,
    stop: () => dockerStop(started.getId()),
    async start() {
      await dockerStart(started.getId());
      await waitForPostgres(url);
    },
    async close() {
      await started.stop({ timeout: 5_000 });
    },
  };
}

export function startPostgres(backend: Backend): Promise<PostgresDeployment> {
  return backend.kind === 'docker' ? startDockerPostgres(backend.postgresImage) : startSpawnedPostgres();
}
