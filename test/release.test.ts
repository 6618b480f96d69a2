/*
 * The release path for real: the hub image is built, pushed to a distribution registry on loopback,
 * signed with a throwaway cosign key pair, described by an SPDX SBOM that is attested with the same
 * key, verified, pulled back by digest and run; its record lands in a copy of environments/images.json
 * (the committed file is never touched), and promotion copies that record unchanged. Without podman,
 * cosign, syft or docker-registry the tests fail with what to install.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { imagesFile, readImages, type ImageRecord } from '../environments/images.ts';
import { loadEnvironment } from '../environments/index.ts';
import { podman, requirePodman, waitFor } from '../scripts/containers/podman.ts';
import { freePort } from '../scripts/lib/local-services.ts';
import { repoRoot, toolVersions } from '../scripts/lib/tools.ts';
import { cosignBinary, generateKeyPair, verifyImage, verifySbomAttestation } from '../scripts/release/cosign.ts';
import { promoteImage } from '../scripts/release/images-file.ts';
import {
  checkReleaseOptions,
  imageInputs,
  recordRelease,
  releaseHub,
  uncommittedImageInputs,
} from '../scripts/release/release.ts';
import { syftBinary } from '../scripts/release/sbom.ts';
import { requireRegistry, startRegistry, type LoopbackRegistry } from '../scripts/release/registry.ts';

const MANIFEST_TYPES = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

const record = (digestByte: string, commitByte = 'c'): ImageRecord => ({
  repository: '127.0.0.1:5000/ringforge/hub',
  digest: `sha256:${digestByte.repeat(64)}`,
  commit: commitByte.repeat(40),
  builtAt: '2026-12-01T03:00:00Z',
});

describe('npm run release against a loopback registry', { timeout: 900_000 }, () => {
  let registry: LoopbackRegistry | undefined;
  let work: string;
  let images: string;
  let keys: { key: string; pub: string };
  let otherKeys: { key: string; pub: string };
  let released: ImageRecord;
  let startedAt: number;
  const access = { plainHttp: true };
  const savedPassword = process.env.COSIGN_PASSWORD;

  before(async () => {
    // Missing tools fail here, with the install hint, rather than skipping.
    requirePodman();
    requireRegistry();
    cosignBinary();
    syftBinary();
    work = mkdtempSync(join(tmpdir(), 'rf-release-test-'));
    process.env.COSIGN_PASSWORD = `pw-${process.pid}-${Date.now()}`;
    for (const dir of ['keys', 'other-keys']) mkdirSync(join(work, dir));
    keys = generateKeyPair(join(work, 'keys'));
    otherKeys = generateKeyPair(join(work, 'other-keys'));
    images = join(work, 'images.json');
    copyFileSync(imagesFile, images);
    registry = await startRegistry();
    startedAt = Date.now();
    released = await releaseHub({
      registry: `${registry.address}/ringforge`,
      key: keys.key,
      pub: keys.pub,
      plainHttp: true,
      // The tree under test may hold work in progress; the commit check has its own test below.
      allowDirty: true,
      imagesPath: images,
      log: (line) => console.log(`release: ${line}`),
    });
  });

  after(async () => {
    await registry?.stop();
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
    if (savedPassword === undefined) delete process.env.COSIGN_PASSWORD;
    else process.env.COSIGN_PASSWORD = savedPassword;
  });

  test('dev records the digest the registry serves, with the source commit and build time', async () => {
    const committed = readImages(imagesFile);
    const recorded = readImages(images);
    assert.deepEqual(recorded.dev, released);
    assert.deepEqual({ ...recorded, dev: undefined }, { ...committed, dev: undefined }, 'only dev changed');
    assert.equal(released.repository, `${registry!.address}/ringforge/hub`);
    const head = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' }).stdout.trim();
    assert.equal(released.commit, head);
    const builtAt = Date.parse(released.builtAt);
    assert.ok(builtAt >= startedAt - 1000 && builtAt <= Date.now(), `builtAt ${released.builtAt}`);
    const manifest = await fetch(`http://${registry!.address}/v2/ringforge/hub/manifests/${released.digest}`, {
      method: 'HEAD',
      headers: { Accept: MANIFEST_TYPES },
    });
    assert.equal(manifest.status, 200);
    assert.equal(manifest.headers.get('docker-content-digest'), released.digest);
  });

  test('the signature verifies with the release public key and fails with another key pair', () => {
    const ref = `${released.repository}@${released.digest}`;
    assert.deepEqual(verifyImage(ref, released.digest, keys.pub, access), { ok: true });
    const other = verifyImage(ref, released.digest, otherKeys.pub, access);
    assert.equal(other.ok, false);
    assert.match(other.ok ? '' : other.reason, /no matching (signatures|attestations)|failed to verify signature/);
  });

  test('the SBOM attestation verifies for the recorded digest, fails with another key, and describes the image', () => {
    const ref = `${released.repository}@${released.digest}`;
    const attested = verifySbomAttestation(ref, released.digest, keys.pub, access);
    assert.ok(attested.ok, attested.ok ? '' : attested.reason);
    const other = verifySbomAttestation(ref, released.digest, otherKeys.pub, access);
    assert.equal(other.ok, false);
    assert.match(other.ok ? '' : other.reason, /no matching attestations|failed to verify signature/);
    const elsewhere = verifySbomAttestation(ref, `sha256:${'0'.repeat(64)}`, keys.pub, access);
    assert.deepEqual(elsewhere, {
      ok: false,
      reason: `no verified SPDX attestation names sha256:${'0'.repeat(64)} (1 verified)`,
    });
    const sbom = attested.sbom as SpdxDocument;
    assert.match(sbom.spdxVersion, /^SPDX-2\.\d$/);
    const names = new Set(sbom.packages.map((p) => p.name));
    // The runtime the image runs on, found in the binary itself, and the base's Debian packages.
    const node = sbom.packages.find((p) => p.name === 'node');
    assert.ok(node, `no node package among ${[...names].join(' ')}`);
    const runtime = podman(['run', '--rm', '--entrypoint', 'node', ref, '--version']).replace(/^v/, '');
    assert.equal(node.versionInfo, runtime);
    for (const pkg of ['libc6', 'libstdc++6']) assert.ok(names.has(pkg), `no ${pkg} in the SBOM`);
    // The image itself, by the digest recorded.
    assert.ok(
      sbom.packages.some((p) => p.name === released.repository && p.versionInfo === released.digest),
      'no package names the released repository at its digest',
    );
  });

  test('a release whose public key is not the signing key is refused before anything is recorded', async () => {
    const before = readFileSync(images, 'utf8');
    await assert.rejects(
      releaseHub({
        registry: `${registry!.address}/mismatch`,
        key: keys.key,
        pub: otherKeys.pub,
        plainHttp: true,
        allowDirty: true,
        imagesPath: images,
        log: () => {},
      }),
      /does not verify with .*other-keys\/cosign\.pub/,
    );
    assert.equal(readFileSync(images, 'utf8'), before);
  });

  test('the image pulls by digest and runs: node answers, the hub serves /api/health', async () => {
    const ref = `${released.repository}@${released.digest}`;
    // Drop the name the release's own pull left, so this pull has to fetch from the registry.
    podman(['rmi', ref]);
    podman(['pull', '--quiet', '--tls-verify=false', ref], 300);
    const version = podman(['run', '--rm', '--entrypoint', 'node', ref, '--version'], 120);
    assert.equal(version, `v${toolVersions.NODE_VERSION}`);
    assert.match(version, /^v24\./, 'the hub runs on Node 24 LTS');
    const port = await freePort();
    const name = `rf-release-test-${process.pid}`;
    podman(['run', '-d', '--rm', '--name', name, '-p', `127.0.0.1:${port}:8080`, ref], 120);
    try {
      await waitFor('the released hub answering /api/health', 60, async () => {
        try {
          return (await fetch(`http://127.0.0.1:${port}/api/health`, { signal: AbortSignal.timeout(2000) })).ok;
        } catch {
          return false;
        }
      });
    } finally {
      podman(['rm', '-f', '-t', '0', name], 60);
    }
  });

  test('promotion copies the released record to staging exactly, then to prod', () => {
    assert.deepEqual(promoteImage(images, 'dev', 'staging'), released);
    assert.deepEqual(promoteImage(images, 'staging', 'prod'), released);
    const recorded = readImages(images);
    assert.deepEqual([recorded.dev, recorded.staging, recorded.prod], [released, released, released]);
  });
});

interface SpdxDocument {
  readonly spdxVersion: string;
  readonly packages: { name: string; versionInfo?: string }[];
}

describe('release and promotion input', () => {
  let work: string;
  before(() => (work = mkdtempSync(join(tmpdir(), 'rf-promote-test-'))));
  after(() => rmSync(work, { recursive: true, force: true }));

  const imagesWith = (records: object): string => {
    const path = join(work, `images-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(path, JSON.stringify(records));
    return path;
  };

  test('promote refuses unknown environments, a missing source record and a self-promotion', () => {
    const path = imagesWith({ dev: record('a') });
    assert.throws(
      () => promoteImage(path, 'qa', 'staging'),
      /<from-env>: must be one of dev, staging, prod \(got "qa"\)/,
    );
    assert.throws(
      () => promoteImage(path, 'dev', 'local'),
      /<to-env>: must be one of dev, staging, prod \(got "local"\)/,
    );
    assert.throws(() => promoteImage(path, 'staging', 'prod'), /staging has no image to promote/);
    assert.throws(() => promoteImage(path, 'dev', 'dev'), /<to-env>: must differ from <from-env>/);
    assert.deepEqual(readImages(path), { dev: record('a') }, 'refusals leave the file as it was');
  });

  test('promote replaces only the target record', () => {
    const path = imagesWith({ dev: record('a'), staging: record('b'), prod: record('d', 'e') });
    promoteImage(path, 'dev', 'staging');
    assert.deepEqual(readImages(path), { dev: record('a'), staging: record('a'), prod: record('d', 'e') });
  });

  test('the promote command prints its usage or the rule broken, and exits non-zero', () => {
    const path = imagesWith({ dev: record('a') });
    const promote = (...args: string[]) =>
      spawnSync(process.execPath, ['--import', 'tsx', 'scripts/release/promote.ts', '--images', path, ...args], {
        cwd: repoRoot,
        encoding: 'utf8',
      });
    const usage = promote('dev');
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /usage: npm run promote -- <from-env> <to-env>/);
    const unknown = promote('dev', 'qa');
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /<to-env>: must be one of dev, staging, prod \(got "qa"\)/);
    const ok = promote('dev', 'prod');
    assert.equal(ok.status, 0, ok.stderr);
    assert.deepEqual(readImages(path).prod, record('a'));
  });

  test('an images file that breaks a rule is refused with the field and the rule', () => {
    const path = imagesWith({ dev: { ...record('a'), digest: 'latest' }, qa: record('b') });
    assert.throws(
      () => readImages(path),
      (err: Error) => {
        assert.match(err.message, /dev\.digest: must be a sha256 digest \(sha256:<64 hex>\)/);
        assert.match(err.message, /qa: must be one of dev, staging, prod/);
        return true;
      },
    );
  });

  test('release refuses a registry that is not host[:port]/namespace, missing keys and a missing key password', () => {
    const keysDir = join(work, 'keys');
    mkdirSync(keysDir, { recursive: true });
    for (const file of ['cosign.key', 'cosign.pub']) writeFileSync(join(keysDir, file), '');
    const options = { key: join(keysDir, 'cosign.key'), pub: join(keysDir, 'cosign.pub'), plainHttp: true };
    for (const registry of [
      'http://127.0.0.1:5000/ringforge',
      '127.0.0.1:5000',
      'Registry.example/ns',
      'host/ns:tag',
    ]) {
      assert.throws(
        () => checkReleaseOptions({ ...options, registry }),
        /--registry: must be <host\[:port\]>\/<namespace>/,
      );
    }
    assert.throws(
      () => checkReleaseOptions({ ...options, registry: '127.0.0.1:5000/ns', pub: join(keysDir, 'absent.pub') }),
      /--pub: .*absent\.pub does not exist/,
    );
    const password = process.env.COSIGN_PASSWORD;
    delete process.env.COSIGN_PASSWORD;
    try {
      assert.throws(
        () => checkReleaseOptions({ ...options, registry: '127.0.0.1:5000/ns' }),
        /COSIGN_PASSWORD: must be set to the password of --key/,
      );
    } finally {
      if (password !== undefined) process.env.COSIGN_PASSWORD = password;
    }
  });

  test('a release names the image inputs that differ from the commit it would record', () => {
    const repo = join(work, 'repo');
    mkdirSync(join(repo, 'src', 'hub'), { recursive: true });
    mkdirSync(join(repo, 'docs'));
    const git = (...args: string[]) => spawnSync('git', args, { cwd: repo, encoding: 'utf8' });
    git('init', '-q');
    for (const file of ['package.json', 'src/hub/main.ts', 'docs/notes.md']) writeFileSync(join(repo, file), 'v1\n');
    git('add', '.');
    git('-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-q', '-m', 'v1');
    assert.deepEqual(uncommittedImageInputs(repo), []);
    writeFileSync(join(repo, 'src/hub/main.ts'), 'v2\n');
    writeFileSync(join(repo, 'docs/notes.md'), 'v2\n');
    writeFileSync(join(repo, 'src/hub/new.ts'), 'v1\n');
    assert.deepEqual(uncommittedImageInputs(repo).sort(), ['src/hub/main.ts', 'src/hub/new.ts']);
    // The inputs are the Dockerfile's: the sources it copies into the build stage.
    assert.ok(imageInputs().includes('src/hub') && imageInputs().includes('environments'), imageInputs().join(' '));
    assert.ok(!imageInputs().some((path) => path.startsWith('/') || path.startsWith('./')), imageInputs().join(' '));
  });

  test('--record writes an image released elsewhere for dev, and refuses a bad reference, commit or time', () => {
    const path = imagesWith({ staging: record('b') });
    const { repository, digest, commit, builtAt } = record('a');
    assert.deepEqual(recordRelease(`${repository}@${digest}`, commit, builtAt, path), record('a'));
    assert.deepEqual(readImages(path), { dev: record('a'), staging: record('b') });
    const refusals: [string, string, string, RegExp][] = [
      [`${repository}:v1`, commit, builtAt, /--record: must be <host\[:port\]>\/<namespace>\/<name>@sha256/],
      [`Registry.example/hub@${digest}`, commit, builtAt, /--record: must be/],
      [`${repository}@sha256:abc`, commit, builtAt, /--record: must be a sha256 digest/],
      [`${repository}@${digest}`, 'main', builtAt, /--commit: must be a full git commit hash/],
      [`${repository}@${digest}`, commit, 'yesterday', /--built-at: must be an ISO 8601 UTC time/],
    ];
    for (const [ref, sha, at, error] of refusals) assert.throws(() => recordRelease(ref, sha, at, path), error);
    assert.deepEqual(readImages(path), { dev: record('a'), staging: record('b') }, 'refusals leave the file as it was');
  });

  test('the release command prints its usage for a half-given --record, and records a whole one', () => {
    const path = imagesWith({});
    const release = (...args: string[]) =>
      spawnSync(process.execPath, ['--import', 'tsx', 'scripts/release/release.ts', '--images', path, ...args], {
        cwd: repoRoot,
        encoding: 'utf8',
      });
    const { repository, digest, commit, builtAt } = record('a');
    const half = release('--record', `${repository}@${digest}`, '--commit', commit);
    assert.equal(half.status, 2);
    assert.match(half.stderr, /--record <repository@digest> --commit <sha> --built-at <time>/);
    const whole = release('--record', `${repository}@${digest}`, '--commit', commit, '--built-at', builtAt);
    assert.equal(whole.status, 0, whole.stderr);
    assert.deepEqual(readImages(path), { dev: record('a') });
  });

  test('every released environment deploys the image environments/images.json records for it', () => {
    const committed = readImages(imagesFile);
    for (const env of ['dev', 'staging', 'prod'] as const) {
      const { repository, digest } = committed[env]!;
      assert.deepEqual(loadEnvironment(env).hub.image, { repository, digest }, env);
    }
  });
});
