/*
 * The scripts the tier 2-3 Valkey pods run (configure, probes, snapshot, upload), taken from the
 * rendered ConfigMap and run for real: three "pods" on loopback addresses 127.0.0.11-13, each a server
 * and a sentinel started from the configuration configure.sh wrote. The servers are Debian's
 * redis-server and redis-cli, which Valkey forked and whose names the scripts call (valkey-server,
 * valkey-cli) point to here; the snapshot goes to a real S3 gateway (versitygw). Only the mount paths
 * differ from a pod's, and each config gets a `bind` line, since the three share one machine.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Chart, Testing } from 'cdk8s';
import { Redis } from 'ioredis';
import { Valkey } from '../../constructs/k8s/valkey.ts';
import { VALKEY_PATHS } from '../../constructs/k8s/valkey-scripts.ts';
import { startObjectStore, type LocalObjectStore } from '../../scripts/lib/local-services.ts';
import { eventually } from './helpers/hub-harness.ts';

const MASTER = 'ringforge';
const PASSWORD = 'a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6';
const ADDRESSES = ['127.0.0.11', '127.0.0.12', '127.0.0.13'];

function renderedScripts(): Record<string, string> {
  const chart = new Chart(Testing.app(), 'valkey');
  new Valkey(chart, 'Valkey', { namespace: 'ringforge-data' });
  const config = chart.toJson().find((o: any) => o.kind === 'ConfigMap' && o.metadata.name === 'valkey-scripts');
  return config.data;
}

const root = mkdtempSync(join(tmpdir(), 'rf-valkey-scripts-'));
const bin = join(root, 'bin');
const children = new Set<ChildProcess>();

/** One pod's directories, with the scripts' mount paths pointed at them. */
function pod(index: number, scripts: Record<string, string>) {
  const dir = join(root, `pod-${index}`);
  const paths = {
    secrets: join(dir, 'secrets'),
    scripts: join(dir, 'scripts'),
    config: join(dir, 'config'),
    backup: join(dir, 'backup'),
    data: join(dir, 'data'),
  };
  for (const path of Object.values(paths)) mkdirSync(path, { recursive: true });
  writeFileSync(join(paths.secrets, 'password'), PASSWORD, { mode: 0o400 });
  for (const [name, text] of Object.entries(scripts)) {
    const local = text
      .replaceAll(VALKEY_PATHS.password, join(paths.secrets, 'password'))
      .replaceAll(VALKEY_PATHS.config, paths.config)
      .replaceAll(VALKEY_PATHS.backup, paths.backup)
      .replaceAll(VALKEY_PATHS.data, paths.data);
    writeFileSync(join(paths.scripts, name), local, { mode: 0o555 });
  }
  const address = ADDRESSES[index]!;
  const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
  const run = (script: string, args: string[] = [], extra: Record<string, string> = {}) =>
    spawnSync('sh', [join(paths.scripts, script), ...args], { env: { ...env, ...extra }, encoding: 'utf8' });
  const start = (args: string[]) => {
    const child = spawn('valkey-server', args, { env, stdio: ['ignore', 'ignore', 'inherit'] });
    children.add(child);
    return child;
  };
  let server: ChildProcess | undefined;
  let sentinel: ChildProcess | undefined;
  return {
    address,
    paths,
    run,
    configure() {
      return run('configure.sh', [], {
        SELF: address,
        FIRST: ADDRESSES[0]!,
        SENTINELS: ADDRESSES.join(' '),
        MASTER,
        QUORUM: '2',
        MAXMEMORY_MB: '64',
        DOWN_AFTER_MS: '1000',
      });
    },
    /** Starts the server and the sentinel as the pod's containers do (plus a `bind` line each). */
    start() {
      appendFileSync(join(paths.config, 'valkey.conf'), `bind ${address}\n`);
      appendFileSync(join(paths.data, 'sentinel.conf'), `bind ${address}\n`);
      server = start([join(paths.config, 'valkey.conf')]);
      sentinel = start([join(paths.data, 'sentinel.conf'), '--sentinel']);
    },
    processes: () => [server, sentinel].filter((c): c is ChildProcess => c !== undefined),
    /** Kills the server alone and starts it again with more settings, the sentinel untouched. */
    async restartServer(settings: readonly string[]) {
      const exited = new Promise((r) => server!.once('exit', r));
      server!.kill('SIGKILL');
      await exited;
      appendFileSync(join(paths.config, 'valkey.conf'), settings.map((line) => `${line}\n`).join(''));
      server = start([join(paths.config, 'valkey.conf')]);
    },
    /** SIGKILL both, as a lost node would. */
    kill() {
      for (const child of [server, sentinel]) child?.kill('SIGKILL');
    },
    probe: (mode: string) => run('probe.sh', [mode], { PROBE_HOST: address }).status,
  };
}

async function sentinelPrimary(address: string): Promise<string> {
  const client = new Redis({
    host: address,
    port: 26379,
    password: PASSWORD,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return ((await client.call('SENTINEL', 'get-master-addr-by-name', MASTER)) as string[])[0]!;
  } finally {
    client.disconnect();
  }
}

describe('Valkey pod scripts (three pods on loopback)', () => {
  let pods: ReturnType<typeof pod>[];
  let scripts: Record<string, string>;

  before(() => {
    mkdirSync(bin);
    symlinkSync('/usr/bin/redis-server', join(bin, 'valkey-server'));
    symlinkSync('/usr/bin/redis-cli', join(bin, 'valkey-cli'));
    scripts = renderedScripts();
    pods = [0, 1, 2].map((i) => pod(i, scripts));
  });

  after(() => {
    for (const child of children) child.kill('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  });

  it('configures pod 0 as the primary when no sentinel answers yet, the others as its replicas', () => {
    for (const p of pods) {
      const result = p.configure();
      assert.equal(result.status, 0, result.stderr);
      assert.match(
        result.stdout,
        /no sentinel names a primary of ringforge yet: starting with 127\.0\.0\.11 as primary/,
      );
    }
    const conf = (i: number, file: string) => readFileSync(join(pods[i]!.paths.config, file), 'utf8');
    assert.doesNotMatch(conf(0, 'valkey.conf'), /replicaof/);
    assert.match(conf(1, 'valkey.conf'), /^replicaof 127\.0\.0\.11 6379$/m);
    assert.match(conf(2, 'valkey.conf'), /^replicaof 127\.0\.0\.11 6379$/m);
    assert.match(
      readFileSync(join(pods[1]!.paths.data, 'sentinel.conf'), 'utf8'),
      /^sentinel monitor ringforge 127\.0\.0\.11 6379 2$/m,
    );
    assert.equal(statSync(join(pods[0]!.paths.config, 'valkey.conf')).mode & 0o777, 0o600);
  });

  it('starts the group; every probe passes, and no process shows the password', async () => {
    for (const p of pods) p.start();
    await eventually(() => {
      for (const p of pods) {
        for (const mode of ['startup', 'live', 'ready', 'sentinel'])
          assert.equal(p.probe(mode), 0, `${p.address} ${mode}`);
      }
    }, 20_000);
    for (const child of pods.flatMap((p) => p.processes())) {
      const cmdline = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8');
      assert.ok(!cmdline.includes(PASSWORD), `no password in ${cmdline.replaceAll('\0', ' ')}`);
    }
    // The sentinels found each other and both replicas before the failover below.
    await eventually(async () => {
      for (const address of ADDRESSES) {
        const client = new Redis({ host: address, port: 26379, password: PASSWORD, maxRetriesPerRequest: 0 });
        client.on('error', () => undefined);
        try {
          const fields = (await client.call('SENTINEL', 'MASTER', MASTER)) as string[];
          const info = Object.fromEntries(fields.flatMap((v, i) => (i % 2 === 0 ? [[v, fields[i + 1]]] : [])));
          assert.equal(info['num-slaves'], '2');
          assert.equal(info['num-other-sentinels'], '2');
        } finally {
          client.disconnect();
        }
      }
    }, 20_000);
  });

  it('live passes and ready fails on a replica whose primary is gone; the sentinels promote one', async () => {
    pods[0]!.kill();
    await eventually(() => assert.equal(pods[1]!.probe('ready'), 1, 'replica not ready without its primary'), 10_000);
    assert.equal(pods[1]!.probe('live'), 0, 'but alive');
    // Two sentinels that split their votes try again after twice failover-timeout (10 s).
    await eventually(async () => assert.notEqual(await sentinelPrimary(ADDRESSES[1]!), ADDRESSES[0]), 45_000);
    const promoted = await sentinelPrimary(ADDRESSES[1]!);
    assert.ok(ADDRESSES.slice(1).includes(promoted), promoted);
    await eventually(() => {
      for (const p of pods.slice(1)) assert.equal(p.probe('ready'), 0, `${p.address} ready after the failover`);
    }, 20_000);
  });

  it('a restarted pod 0 asks the sentinels and rejoins as a replica of the promoted primary', async () => {
    const promoted = await sentinelPrimary(ADDRESSES[1]!);
    const result = pods[0]!.configure();
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`the sentinels name ${promoted.replaceAll('.', '\\.')} as primary`));
    assert.match(
      readFileSync(join(pods[0]!.paths.config, 'valkey.conf'), 'utf8'),
      new RegExp(`^replicaof ${promoted} 6379$`, 'm'),
    );
    pods[0]!.start();
    await eventually(() => assert.equal(pods[0]!.probe('ready'), 0, 'pod 0 ready as a replica'), 20_000);
  });

  describe('snapshot to object storage', () => {
    let store: LocalObjectStore;
    before(async () => {
      store = await startObjectStore({ bucket: 'ringforge-staging-backups' });
    });
    after(async () => store?.stop());

    it('streams an RDB of the primary and uploads it to the bucket with SigV4', async () => {
      const primary = await sentinelPrimary(ADDRESSES[1]!);
      const client = new Redis({ host: primary, port: 6379, password: PASSWORD, retryStrategy: () => null });
      try {
        await client.set('rf:snapshot-marker', 'kept');
      } finally {
        client.disconnect();
      }
      const job = pods[2]!;
      const snapshot = job.run('snapshot.sh', [], { SENTINELS: ADDRESSES.join(' '), MASTER });
      assert.equal(snapshot.status, 0, snapshot.stderr);
      assert.match(snapshot.stdout, new RegExp(`snapshot of ${primary.replaceAll('.', '\\.')}: \\d+ bytes`));
      const rdb = readFileSync(join(job.paths.backup, 'dump.rdb'));
      assert.equal(rdb.subarray(0, 5).toString(), 'REDIS');
      assert.ok(rdb.includes('rf:snapshot-marker'), 'the snapshot holds the data');

      const upload = job.run('upload.sh', [], {
        ACCESS_KEY_ID: store.accessKey,
        ACCESS_SECRET_KEY: store.secretKey,
        S3_ENDPOINT: store.endpoint,
        S3_REGION: 'us-east-1',
        S3_BUCKET: store.bucket,
        S3_PREFIX: 'staging/fsn1',
      });
      assert.equal(upload.status, 0, upload.stderr);
      const folder = join(store.dataDir, store.bucket, 'staging', 'fsn1', 'valkey');
      const uploaded = readdirSync(folder);
      assert.equal(uploaded.length, 1);
      assert.match(uploaded[0]!, /^\d{8}T\d{6}Z\.rdb$/);
      assert.deepEqual(readFileSync(join(folder, uploaded[0]!)), rdb);
      assert.ok(!upload.stdout.includes(store.secretKey) && !upload.stderr.includes(store.secretKey));
    });
  });

  it('after every pod stopped at once, they restart around the primary their sentinels last knew', async () => {
    const promoted = await sentinelPrimary(ADDRESSES[1]!);
    for (const p of pods) p.kill();
    await new Promise((r) => setTimeout(r, 500));
    for (const p of pods) {
      const result = p.configure();
      assert.equal(result.status, 0, result.stderr);
      assert.match(result.stdout, new RegExp(`no sentinel answers: ${promoted.replaceAll('.', '\\.')}, the primary`));
    }
    for (const p of pods) p.start();
    await eventually(() => {
      for (const p of pods) assert.equal(p.probe('ready'), 0, `${p.address} ready`);
    }, 20_000);
    const client = new Redis({ host: promoted, port: 6379, password: PASSWORD, retryStrategy: () => null });
    try {
      assert.equal(((await client.call('ROLE')) as string[])[0], 'master');
      assert.equal(await client.get('rf:snapshot-marker'), 'kept', 'the AOF kept the data');
    } finally {
      client.disconnect();
    }
  });

  it('while a replica replays its AOF it answers LOADING: alive, not started, not ready; then ready', async () => {
    const promoted = await sentinelPrimary(ADDRESSES[1]!);
    const replica = pods.find((p) => p.address !== promoted)!;
    const client = new Redis({ host: replica.address, port: 6379, password: PASSWORD, retryStrategy: () => null });
    const primary = new Redis({ host: promoted, port: 6379, password: PASSWORD, retryStrategy: () => null });
    try {
      const writes = primary.pipeline();
      for (let i = 0; i < 20_000; i++) writes.set(`rf:load:${i}`, i);
      await writes.exec();
      await eventually(async () => assert.equal(await client.dbsize(), 20_001), 10_000);
      // The replica's AOF becomes one RDB base, whose loading key-load-delay (µs per key) slows down.
      await client.call('BGREWRITEAOF');
      await eventually(async () => {
        const info = await client.info('persistence');
        assert.match(info, /aof_rewrite_in_progress:0/);
        assert.match(info, /aof_rewrite_scheduled:0/);
      }, 10_000);
    } finally {
      client.disconnect();
      primary.disconnect();
    }
    // A small data set is loaded between two event loop turns (every 2 MB by default): turns every
    // 1 kB let the server answer LOADING during this test's slowed load, as it does during a large one.
    await replica.restartServer(['key-load-delay 200', 'loading-process-events-interval-bytes 1024']);
    const seen = { loading: false };
    await eventually(() => {
      const ping = replica.run('probe.sh', ['live'], { PROBE_HOST: replica.address });
      if (ping.status !== 0) throw new Error('not answering yet');
      const answer = spawnSync('valkey-cli', ['-h', replica.address, 'PING'], {
        env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, REDISCLI_AUTH: PASSWORD },
        encoding: 'utf8',
      }).stdout;
      assert.match(answer, /LOADING/, 'caught while loading');
      seen.loading = true;
      assert.equal(replica.probe('startup'), 1, 'startup waits for the load');
      assert.equal(replica.probe('ready'), 1, 'not ready while loading');
      assert.equal(replica.probe('live'), 0, 'a loading server is alive');
    }, 10_000);
    assert.ok(seen.loading);
    await eventually(() => {
      for (const mode of ['startup', 'live', 'ready']) assert.equal(replica.probe(mode), 0, `${mode} after the load`);
    }, 30_000);
  });
});
