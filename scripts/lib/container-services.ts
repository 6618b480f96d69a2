/*
 * Postgres and Redis as containers through testcontainers, for the harness in local-services.ts when
 * a container runtime answers (Docker, or podman's Docker-compatible API at DOCKER_HOST). Images
 * default to the public ones tier 0 runs and are set with RINGFORGE_POSTGRES_IMAGE and
 * RINGFORGE_REDIS_IMAGE (CI sets the local images `npm run toolchain` builds, since nothing can be
 * pulled there). Both images follow the official entrypoint contract: arguments that start with
 * '-' are options to the server.
 */
import { request } from 'node:http';
import { existsSync } from 'node:fs';
import pg from 'pg';
import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';
import { SINGLE_NODE_IMAGES } from '../../constructs/hetzner/roles/single-node.ts';
import type { LocalPostgres, LocalService, PostgresOptions, RedisOptions } from './local-services.ts';

export const postgresImage = () => process.env.RINGFORGE_POSTGRES_IMAGE ?? SINGLE_NODE_IMAGES.postgres;
export const redisImage = () => process.env.RINGFORGE_REDIS_IMAGE ?? SINGLE_NODE_IMAGES.valkey;

/** The Docker API endpoint testcontainers would use: DOCKER_HOST, else Docker's default socket. */
function dockerEndpoint(): { socketPath: string } | { host: string; port: number } | undefined {
  const dockerHost = process.env.DOCKER_HOST;
  if (dockerHost === undefined || dockerHost === '') {
    return existsSync('/var/run/docker.sock') ? { socketPath: '/var/run/docker.sock' } : undefined;
  }
  if (dockerHost.startsWith('unix://')) return { socketPath: dockerHost.slice('unix://'.length) };
  const tcp = /^tcp:\/\/([^:/]+):(\d+)/.exec(dockerHost);
  return tcp === null ? undefined : { host: tcp[1]!, port: Number(tcp[2]) };
}

/** True when the endpoint answers the Docker API's `GET /_ping` with OK within two seconds. */
export async function containerRuntimeAnswers(): Promise<boolean> {
  const endpoint = dockerEndpoint();
  if (endpoint === undefined) return false;
  return new Promise((resolve) => {
    const req = request({ ...endpoint, path: '/_ping', timeout: 2_000 }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve(res.statusCode === 200 && body.trim() === 'OK'));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

export type ServicesPath = 'containers' | 'debian';

let chosen: Promise<ServicesPath> | undefined;

/**
 * RINGFORGE_SERVICES picks the path: `containers`, `debian`, or `auto` (the default), which takes
 * containers when a runtime answers. Decided once per process.
 */
export function servicesPath(): Promise<ServicesPath> {
  chosen ??= (async (): Promise<ServicesPath> => {
    const wanted = process.env.RINGFORGE_SERVICES || 'auto';
    if (wanted === 'debian') return 'debian';
    if (wanted !== 'auto' && wanted !== 'containers') {
      throw new Error(`RINGFORGE_SERVICES must be auto, containers or debian (got ${wanted})`);
    }
    const answers = await containerRuntimeAnswers();
    if (wanted === 'containers' && !answers) {
      throw new Error(
        `RINGFORGE_SERVICES=containers, but no container runtime answers at ${process.env.DOCKER_HOST || 'unix:///var/run/docker.sock'}: run \`npm run toolchain\` and set DOCKER_HOST=unix:///run/ringforge/podman.sock`,
      );
    }
    return answers ? 'containers' : 'debian';
  })();
  return chosen;
}

function stopOnce(container: StartedTestContainer): () => Promise<void> {
  let stopped = false;
  return async () => {
    if (stopped) return;
    stopped = true;
    await container.stop({ timeout: 5_000 });
  };
}

const unsupported = (what: string) => () =>
  Promise.reject(new Error(`${what} is not available on the containers path: set RINGFORGE_SERVICES=debian`));

/** A throwaway Postgres container (user `postgres`, trust auth); the same settings as the Debian path. */
export async function startPostgresContainer(options: PostgresOptions = {}): Promise<LocalPostgres> {
  const durable = options.fsync === true;
  const settings: Record<string, string> = {
    fsync: durable ? 'on' : 'off',
    synchronous_commit: durable ? 'on' : 'off',
    full_page_writes: durable ? 'on' : 'off',
    max_connections: '200',
    ...options.settings,
  };
  console.log(`postgres: testcontainers (${postgresImage()})`);
  const container = await new GenericContainer(postgresImage())
    .withEnvironment({ POSTGRES_HOST_AUTH_METHOD: 'trust', ...options.env })
    .withCommand(Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]))
    .withExposedPorts(options.port === undefined ? 5432 : { container: 5432, host: options.port })
    .withTmpFs({ '/var/lib/postgresql/data': 'rw' })
    // The init step's temporary server listens on the socket only, so TCP answers once it is done.
    .withWaitStrategy(Wait.forSuccessfulCommand('pg_isready -h 127.0.0.1 -p 5432 -U postgres'))
    .withStartupTimeout((options.startTimeoutSeconds ?? 60) * 1000)
    .start();
  const port = container.getMappedPort(5432);
  const url = (db: string) => `postgres://postgres@127.0.0.1:${port}/${db}`;
  return {
    url: url('postgres'),
    port,
    dataDir: '/var/lib/postgresql/data',
    async createDatabase(name: string): Promise<string> {
      if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name))
        throw new Error(`database name must match [a-z_][a-z0-9_]* (got ${name})`);
      const client = new pg.Client({ connectionString: url('postgres') });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return url(name);
    },
    stop: stopOnce(container),
    destroy: stopOnce(container),
    restart: unsupported('restarting Postgres with new settings'),
  };
}

/** A throwaway Redis-protocol server container without persistence. */
export async function startRedisContainer(options: RedisOptions = {}): Promise<LocalService> {
  console.log(`redis: testcontainers (${redisImage()})`);
  const container = await new GenericContainer(redisImage())
    .withCommand(['--save', '', '--appendonly', 'no', '--protected-mode', 'no'])
    .withExposedPorts(options.port === undefined ? 6379 : { container: 6379, host: options.port })
    .withWaitStrategy(Wait.forListeningPorts())
    .withStartupTimeout((options.startTimeoutSeconds ?? 30) * 1000)
    .start();
  const port = container.getMappedPort(6379);
  return { url: `redis://127.0.0.1:${port}`, port, stop: stopOnce(container) };
}
