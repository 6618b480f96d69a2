/*
 * Real Postgres, Redis and S3-compatible servers on free loopback ports with their data in temporary
 * directories, for tests, load tests and drills. Nothing is mocked: these are the Debian-packaged
 * binaries and the versitygw gateway that `npm run toolchain` installs. Every server started here is
 * stopped on `stop()`, and also when the process exits, so a crashed run leaves no stray server behind.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  appendFileSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { servicesPath, startPostgresContainer, startRedisContainer } from './container-services.ts';
import { tool } from './tools.ts';

export interface LocalService {
  /** Connection URL on 127.0.0.1, e.g. `postgres://postgres@127.0.0.1:54321/postgres`. */
  readonly url: string;
  readonly port: number;
  /** Stops the server and removes its data directory; safe to call more than once. */
  stop(): Promise<void>;
}

export interface LocalPostgres extends LocalService {
  /** The data directory (removed by `stop()` unless `keepData` was set). */
  readonly dataDir: string;
  /** Creates a database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** The server's log, when it runs on this machine. */
  readonly logFile?: string;
  /**
   * Stops the server at once, as a crash would (no shutdown checkpoint), and deletes its data
   * directory: the restore drill's disaster.
   */
  destroy(): Promise<void>;
  /**
   * Restarts with more settings (e.g. `wal_level`, which needs a restart) and, optionally, a new
   * environment; `standby` brings it back as a hot standby (see PostgresOptions.standby): a primary
   * demoted under its clients.
   */
  restart(change: {
    settings?: Readonly<Record<string, string>>;
    env?: Readonly<Record<string, string>>;
    standby?: boolean;
  }): Promise<void>;
}

export interface PostgresOptions {
  /** Port on 127.0.0.1. @default - a free port */
  readonly port?: number;
  /** Durable writes; tests rarely need them. @default false */
  readonly fsync?: boolean;
  /**
   * Extra server settings, e.g. `{ wal_level: 'replica', archive_mode: 'on' }`, written to
   * postgresql.auto.conf (so values may hold spaces, and a base backup carries them).
   */
  readonly settings?: Readonly<Record<string, string>>;
  /** Environment of the server process, e.g. object-store credentials its archive_command reads. */
  readonly env?: Readonly<Record<string, string>>;
  /** Leave the data directory behind on `stop()` (drills inspect it). @default false */
  readonly keepData?: boolean;
  /**
   * Run the Debian binaries on this machine even when a container runtime answers, for servers whose
   * commands (an archive_command calling barman-cloud) or data directory must be the host's.
   * @default false
   */
  readonly onHost?: boolean;
  /** Seconds to wait for the server to accept connections. @default 30 */
  readonly startTimeoutSeconds?: number;
  /**
   * Start as a hot standby that stays in recovery: `standby.signal` with neither a primary to stream
   * from nor a restore_command, so it takes read-only connections until `SELECT pg_promote()`. Runs
   * on this machine, like onHost. @default false
   */
  readonly standby?: boolean;
}

export interface RestoredPostgresOptions extends Omit<PostgresOptions, 'keepData'> {
  /** Start in archive recovery (writes `recovery.signal`); settings then carry `restore_command`. @default true */
  readonly recovery?: boolean;
}

export interface RedisOptions {
  /** Port on 127.0.0.1. @default - a free port */
  readonly port?: number;
  /** Seconds to wait for the server to accept connections. @default 15 */
  readonly startTimeoutSeconds?: number;
}

/** A port on 127.0.0.1 that nothing listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('could not find a free port'))));
    });
  });
}

/** Directory of the Postgres server binaries: `pg_config --bindir`, else the newest /usr/lib/postgresql/N/bin. */
export function postgresBinDir(): string {
  const candidates: string[] = [];
  const pgConfig = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  if (pgConfig.status === 0 && pgConfig.stdout.trim() !== '') candidates.push(pgConfig.stdout.trim());
  const debianRoot = '/usr/lib/postgresql';
  if (existsSync(debianRoot)) {
    const versions = readdirSync(debianRoot)
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((v) => join(debianRoot, v, 'bin')));
  }
  for (const binary of ['initdb', 'pg_ctl', 'postgres']) {
    if (!candidates.some((dir) => existsSync(join(dir, binary)))) {
      throw new Error(
        `Postgres binary ${binary} not found (looked in ${candidates.join(', ') || 'pg_config --bindir and /usr/lib/postgresql/*/bin'}): run \`npm run toolchain\` to install the Postgres packages`,
      );
    }
  }
  const dir = candidates.find((d) => ['initdb', 'pg_ctl', 'postgres'].every((b) => existsSync(join(d, b))));
  if (dir === undefined) throw new Error('initdb, pg_ctl and postgres are not in one directory: reinstall Postgres');
  return dir;
}

function redisBinary(): string {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/bin', '/usr/local/bin'])) {
    const path = join(dir, 'redis-server');
    if (dir !== '' && existsSync(path)) return path;
  }
  throw new Error('redis-server not found on PATH: run `npm run toolchain` to install the Redis package');
}

/*
 * Postgres refuses to run as root. When the tests run as root (containers, CI), the server runs as
 * the `postgres` system user that the Debian package creates, and owns its data directory.
 */
interface RunAs {
  readonly prefix: string[];
  readonly uid?: number;
  readonly gid?: number;
}

function postgresRunAs(): RunAs {
  if (process.getuid?.() !== 0) return { prefix: [] };
  const entry = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .map((line) => line.split(':'))
    .find((fields) => fields[0] === 'postgres');
  if (entry === undefined) {
    throw new Error('running as root, but there is no `postgres` user to run Postgres as: run `npm run toolchain`');
  }
  return { prefix: ['runuser', '-u', 'postgres', '--'], uid: Number(entry[2]), gid: Number(entry[3]) };
}

/** A command line that runs as the user Postgres runs as (itself when not root). */
export function asPostgresUser(command: readonly string[]): string[] {
  return [...postgresRunAs().prefix, ...command];
}

/** Changes the owner of paths to the user Postgres runs as (when running as root). */
export function chownToPostgres(...paths: string[]): void {
  const runAs = postgresRunAs();
  if (runAs.uid === undefined) return;
  for (const path of paths) chownSync(path, runAs.uid, runAs.gid ?? runAs.uid);
}

function run(runAs: RunAs, command: string, args: string[], env?: Readonly<Record<string, string>>): void {
  const [bin, ...rest] = [...runAs.prefix, command, ...args];
  const result = spawnSync(bin!, rest, {
    encoding: 'utf8',
    timeout: 600_000,
    env: env === undefined ? process.env : { ...process.env, ...env },
  });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed (exit ${result.status}): ${result.stderr || result.stdout}`);
  }
}

async function waitForPort(port: number, timeoutSeconds: number, what: string, logFile?: string): Promise<void> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  const log = logFile !== undefined && existsSync(logFile) ? `\n${readFileSync(logFile, 'utf8').slice(-2000)}` : '';
  throw new Error(`${what} did not accept connections on 127.0.0.1:${port} within ${timeoutSeconds}s${log}`);
}

const cleanups = new Set<() => void>();
let exitHookInstalled = false;
function onExit(cleanup: () => void): () => void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => cleanups.forEach((c) => c()));
  }
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

/** Starts a throwaway Postgres cluster (user `postgres`, trust auth, loopback only). */
export async function startPostgres(options: PostgresOptions = {}): Promise<LocalPostgres> {
  // Containers through testcontainers when a runtime answers (scripts/lib/container-services.ts).
  const onHost = options.onHost === true || options.keepData === true || options.standby === true;
  if (!onHost && (await servicesPath()) === 'containers') {
    return startPostgresContainer(options);
  }
  const binDir = postgresBinDir();
  const runAs = postgresRunAs();
  const root = mkdtempSync(join(tmpdir(), 'rf-postgres-'));
  const dataDir = join(root, 'data');
  if (runAs.uid !== undefined) chownSync(root, runAs.uid, runAs.gid ?? runAs.uid);
  run(runAs, join(binDir, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  if (options.standby === true) writeStandbySignal(dataDir);
  return launchPostgres(binDir, runAs, root, dataDir, options, options.keepData === true ? [] : [root]);
}

/**
 * Starts Postgres on an existing data directory, e.g. one a restore wrote, in archive recovery by
 * default. The data directory is kept on `stop()`; the caller owns it.
 */
export async function startRestoredPostgres(
  dataDir: string,
  options: RestoredPostgresOptions = {},
): Promise<LocalPostgres> {
  const binDir = postgresBinDir();
  const runAs = postgresRunAs();
  const root = mkdtempSync(join(tmpdir(), 'rf-postgres-run-'));
  if (runAs.uid !== undefined) chownSync(root, runAs.uid, runAs.gid ?? runAs.uid);
  if (options.recovery ?? true) {
    writeFileSync(join(dataDir, 'recovery.signal'), '');
    chownToPostgres(join(dataDir, 'recovery.signal'));
  }
  return launchPostgres(binDir, runAs, root, dataDir, options, [root]);
}

function writeStandbySignal(dataDir: string): void {
  writeFileSync(join(dataDir, 'standby.signal'), '');
  chownToPostgres(join(dataDir, 'standby.signal'));
}

/** postgresql.auto.conf syntax: single quotes doubled inside a quoted value. */
const confLine = (name: string, value: string) => `${name} = '${value.replace(/'/g, "''")}'\n`;

async function launchPostgres(
  binDir: string,
  runAs: RunAs,
  root: string,
  dataDir: string,
  options: PostgresOptions,
  /** Removed on stop: the socket and log directory, and the data directory unless it is kept. */
  ownedDirs: readonly string[],
): Promise<LocalPostgres> {
  console.log(`postgres: Debian binaries ${binDir}`);
  const logFile = join(root, 'postgres.log');
  const port = options.port ?? (await freePort());
  const durable = options.fsync === true;
  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    fsync: durable ? 'on' : 'off',
    synchronous_commit: durable ? 'on' : 'off',
    full_page_writes: durable ? 'on' : 'off',
    max_connections: '200',
    ...options.settings,
  };
  // Later lines win, so settings given here override what a restored data directory carries.
  const writeSettings = (values: Readonly<Record<string, string>>) =>
    appendFileSync(
      join(dataDir, 'postgresql.auto.conf'),
      Object.entries(values)
        .map(([k, v]) => confLine(k, v))
        .join(''),
    );
  writeSettings(settings);
  const startTimeout = options.startTimeoutSeconds ?? 30;
  const pgCtl = join(binDir, 'pg_ctl');
  const pgCtlArgs = (action: 'start' | 'restart') => [
    '-D',
    dataDir,
    '-l',
    logFile,
    '-o',
    `-p ${port} -k ${root}`,
    '-w',
    '-t',
    String(Math.max(60, startTimeout)),
    action,
  ];
  try {
    run(runAs, pgCtl, pgCtlArgs('start'), options.env);
  } catch (error) {
    const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-3000) : '';
    throw new Error(`${(error as Error).message}\n--- postgres log ---\n${log}`);
  }

  let stopped = false;
  const removeOwned = () => ownedDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true }));
  const stopSync = (): void => {
    if (stopped) return;
    stopped = true;
    const [bin, ...rest] = [...runAs.prefix, pgCtl, '-D', dataDir, '-m', 'immediate', '-w', 'stop'];
    spawnSync(bin!, rest, { timeout: 30_000 });
    removeOwned();
  };
  const forget = onExit(stopSync);
  await waitForPort(port, startTimeout, 'Postgres', logFile);

  const stopWith = async (mode: 'fast' | 'immediate', deleteData: boolean): Promise<void> => {
    if (stopped) return;
    stopped = true;
    forget();
    const [bin, ...rest] = [...runAs.prefix, pgCtl, '-D', dataDir, '-m', mode, '-w', '-t', '30', 'stop'];
    await new Promise<void>((resolve) => spawn(bin!, rest, { stdio: 'ignore' }).once('exit', () => resolve()));
    if (deleteData) rmSync(dataDir, { recursive: true, force: true });
    removeOwned();
  };
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  return {
    url,
    port,
    dataDir,
    logFile,
    async createDatabase(name: string): Promise<string> {
      if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name))
        throw new Error(`database name must match [a-z_][a-z0-9_]* (got ${name})`);
      run(runAs, join(binDir, 'psql'), [
        '-h',
        '127.0.0.1',
        '-p',
        String(port),
        '-U',
        'postgres',
        '-c',
        `CREATE DATABASE ${name}`,
      ]);
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    stop: () => stopWith('fast', false),
    destroy: () => stopWith('immediate', true),
    async restart(change): Promise<void> {
      if (change.settings !== undefined) writeSettings(change.settings);
      if (change.standby === true) writeStandbySignal(dataDir);
      run(runAs, pgCtl, pgCtlArgs('restart'), change.env ?? options.env);
      await waitForPort(port, startTimeout, 'Postgres', logFile);
    },
  };
}

/** Starts a throwaway redis-server without persistence, bound to 127.0.0.1. */
export async function startRedis(options: RedisOptions = {}): Promise<LocalService> {
  if ((await servicesPath()) === 'containers') return startRedisContainer(options);
  const binary = redisBinary();
  console.log(`redis: Debian binaries ${binary}`);
  const dir = mkdtempSync(join(tmpdir(), 'rf-redis-'));
  const port = options.port ?? (await freePort());
  const server = await spawnServer({
    name: 'redis-server',
    binary,
    args: ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    dir,
    port,
    startTimeoutSeconds: options.startTimeoutSeconds,
  });
  return { url: `redis://127.0.0.1:${port}`, port, stop: server.stop };
}

export interface RedisSentinelGroupOptions {
  /** The primary's name the sentinels monitor. @default 'ringforge' */
  readonly masterName?: string;
  /** Servers that replicate from the first. @default 1 */
  readonly replicas?: number;
  /** @default 3 */
  readonly sentinels?: number;
  /** Sentinels that must agree the primary is down. @default 2 */
  readonly quorum?: number;
  /** How long the primary may not answer before a sentinel thinks it down. @default 1000 */
  readonly downAfterMs?: number;
}

export interface RedisNode {
  readonly port: number;
  /** SIGKILL, as a crash or a lost machine would: no shutdown, no final save. */
  kill(): Promise<void>;
}

export interface RedisSentinelGroup {
  readonly masterName: string;
  /** Random per start; the servers and sentinels read it from their config files, never arguments. */
  readonly password: string;
  /** A file holding the password, for REDIS_PASSWORD_FILE. */
  readonly passwordFile: string;
  /** The data servers; the first is the primary at start. */
  readonly nodes: readonly RedisNode[];
  /** `127.0.0.1:<port>` of each sentinel, comma-separated, for REDIS_SENTINELS. */
  readonly sentinelAddresses: string;
  /** The port the sentinels name as primary now (asks each until one answers). */
  primaryPort(): Promise<number>;
  /** Stops every server and sentinel and removes their directories; safe to call more than once. */
  stop(): Promise<void>;
}

/**
 * Starts a Sentinel-managed group on loopback: a primary, replicas following it and sentinels
 * monitoring it, all redis-server from the Debian package (sentinels are `redis-server --sentinel`,
 * the same binary), password-protected, without persistence. Resolves once every sentinel has found
 * the replicas and the other sentinels, so a failover can start as soon as the primary dies.
 */
export async function startRedisSentinelGroup(options: RedisSentinelGroupOptions = {}): Promise<RedisSentinelGroup> {
  const binary = redisBinary();
  const masterName = options.masterName ?? 'ringforge';
  const replicas = options.replicas ?? 1;
  const sentinelCount = options.sentinels ?? 3;
  const quorum = options.quorum ?? 2;
  const root = mkdtempSync(join(tmpdir(), 'rf-redis-sentinel-'));
  const password = randomBytes(18).toString('base64url');
  const passwordFile = join(root, 'password');
  writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  const started: { stop(): Promise<void>; kill(): Promise<void> }[] = [];
  const stop = async () => {
    await Promise.all(started.map((server) => server.stop()));
    rmSync(root, { recursive: true, force: true });
  };
  const forget = onExit(() => rmSync(root, { recursive: true, force: true }));
  const start = async (name: string, config: readonly string[], sentinel: boolean) => {
    const dir = join(root, name);
    mkdirSync(dir);
    const file = join(dir, sentinel ? 'sentinel.conf' : 'redis.conf');
    writeFileSync(file, `${config.join('\n')}\ndir ${dir}\n`, { mode: 0o600 });
    const port = Number(/^port (\d+)$/m.exec(config.join('\n'))![1]);
    const server = await spawnServer({ name, binary, args: sentinel ? [file, '--sentinel'] : [file], dir, port });
    started.push(server);
    return { port, kill: server.kill };
  };
  try {
    const nodePorts = await Promise.all(Array.from({ length: replicas + 1 }, () => freePort()));
    const primaryPort = nodePorts[0]!;
    const nodes: RedisNode[] = [];
    for (const [index, port] of nodePorts.entries()) {
      const config = [
        `port ${port}`,
        'bind 127.0.0.1',
        'save ""',
        'appendonly no',
        `requirepass ${password}`,
        `masterauth ${password}`,
        ...(index === 0 ? [] : [`replicaof 127.0.0.1 ${primaryPort}`]),
      ];
      nodes.push(await start(`redis-${index}`, config, false));
    }
    const sentinelPorts = await Promise.all(Array.from({ length: sentinelCount }, () => freePort()));
    await Promise.all(
      sentinelPorts.map((port, index) =>
        start(
          `sentinel-${index}`,
          [
            `port ${port}`,
            'bind 127.0.0.1',
            `requirepass ${password}`,
            `sentinel sentinel-pass ${password}`,
            `sentinel monitor ${masterName} 127.0.0.1 ${primaryPort} ${quorum}`,
            `sentinel auth-pass ${masterName} ${password}`,
            `sentinel down-after-milliseconds ${masterName} ${options.downAfterMs ?? 1000}`,
            `sentinel failover-timeout ${masterName} 10000`,
            `sentinel parallel-syncs ${masterName} 1`,
          ],
          true,
        ),
      ),
    );
    const askSentinel = async <T>(port: number, ...args: string[]): Promise<T> => {
      const client = new Redis({ host: '127.0.0.1', port, password, lazyConnect: true, maxRetriesPerRequest: 0 });
      try {
        await client.connect();
        return (await client.call('SENTINEL', ...args)) as T;
      } finally {
        client.disconnect();
      }
    };
    // Sentinels find replicas and each other through the primary (hello messages every 2 s).
    const deadline = Date.now() + 30_000;
    for (const port of sentinelPorts) {
      for (;;) {
        const fields = await askSentinel<string[]>(port, 'MASTER', masterName);
        const info = Object.fromEntries(fields.flatMap((v, i) => (i % 2 === 0 ? [[v, fields[i + 1]]] : [])));
        if (Number(info['num-slaves']) === replicas && Number(info['num-other-sentinels']) === sentinelCount - 1) break;
        if (Date.now() > deadline) throw new Error(`sentinel on ${port} did not see the group within 30 s`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    console.log(
      `redis: Sentinel group ${masterName} (${binary}): primary ${primaryPort}, replicas ${nodePorts.slice(1).join(', ')}, sentinels ${sentinelPorts.join(', ')}, quorum ${quorum}`,
    );
    return {
      masterName,
      password,
      passwordFile,
      nodes,
      sentinelAddresses: sentinelPorts.map((port) => `127.0.0.1:${port}`).join(','),
      async primaryPort() {
        for (const port of sentinelPorts) {
          try {
            const [, primary] = await askSentinel<[string, string]>(port, 'get-master-addr-by-name', masterName);
            return Number(primary);
          } catch {
            // A stopped sentinel: ask the next.
          }
        }
        throw new Error('no sentinel answered');
      },
      async stop() {
        forget();
        await stop();
      },
    };
  } catch (error) {
    forget();
    await stop();
    throw error;
  }
}

/**
 * Runs a server binary in the foreground with its data in `dir`: waits until it accepts connections
 * on `port` (or fails with its last output), and kills it and removes `dir` on `stop()` or when
 * this process exits.
 */
export async function spawnServer(spec: {
  readonly name: string;
  readonly binary: string;
  readonly args: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  readonly dir: string;
  readonly port: number;
  readonly startTimeoutSeconds?: number;
}): Promise<{ readonly pid: number; stop(): Promise<void>; kill(): Promise<void> }> {
  const child: ChildProcess = spawn(spec.binary, spec.args, {
    env: spec.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
  child.stderr?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const forget = onExit(() => {
    child.kill('SIGKILL');
    rmSync(spec.dir, { recursive: true, force: true });
  });
  try {
    await Promise.race([
      waitForPort(spec.port, spec.startTimeoutSeconds ?? 15, spec.name),
      exited.then(() => {
        throw new Error(`${spec.name} exited at start: ${output}`);
      }),
    ]);
  } catch (error) {
    child.kill('SIGKILL');
    forget();
    rmSync(spec.dir, { recursive: true, force: true });
    throw error;
  }
  let stopped = false;
  return {
    pid: child.pid!,
    async kill(): Promise<void> {
      child.kill('SIGKILL');
      await exited;
    },
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      forget();
      child.kill('SIGTERM');
      const killTimer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killTimer);
      rmSync(spec.dir, { recursive: true, force: true });
    },
  };
}

export interface LocalObjectStore {
  /** `http://127.0.0.1:<port>`, for `--endpoint-url` and S3 clients. */
  readonly endpoint: string;
  /** Root credentials, random per start; pass them through the environment, never on a command line or a log. */
  readonly accessKey: string;
  readonly secretKey: string;
  /** A bucket that exists from the start. */
  readonly bucket: string;
  /** The directory the gateway stores objects in (`<dir>/<bucket>/<key>`). */
  readonly dataDir: string;
  /** Stops the gateway and removes its directory; safe to call more than once. */
  stop(): Promise<void>;
}

export interface ObjectStoreOptions {
  /** @default 'ringforge-local-backups' */
  readonly bucket?: string;
  /** Port on 127.0.0.1. @default - a free port */
  readonly port?: number;
  /** Seconds to wait for the gateway to accept connections. @default 15 */
  readonly startTimeoutSeconds?: number;
}

/**
 * Starts versitygw, an S3-compatible gateway, over a temporary directory on loopback. The posix
 * backend serves every top-level directory as a bucket, so the bucket is created as one.
 */
export async function startObjectStore(options: ObjectStoreOptions = {}): Promise<LocalObjectStore> {
  const binary = tool('versitygw');
  const bucket = options.bucket ?? 'ringforge-local-backups';
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket))
    throw new Error(`bucket must be an S3 bucket name (got ${bucket})`);
  const dataDir = mkdtempSync(join(tmpdir(), 'rf-objects-'));
  mkdirSync(join(dataDir, bucket));
  const port = options.port ?? (await freePort());
  const accessKey = `RF${randomBytes(9).toString('hex').toUpperCase()}`;
  const secretKey = randomBytes(30).toString('base64url');
  const server = await spawnServer({
    name: 'versitygw',
    binary,
    args: ['--port', `127.0.0.1:${port}`, 'posix', dataDir],
    // Keys through the environment: a command line is visible to every user in `ps`.
    env: { ...process.env, ROOT_ACCESS_KEY_ID: accessKey, ROOT_SECRET_ACCESS_KEY: secretKey },
    dir: dataDir,
    port,
    startTimeoutSeconds: options.startTimeoutSeconds,
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    accessKey,
    secretKey,
    bucket,
    dataDir,
    stop: server.stop,
  };
}
