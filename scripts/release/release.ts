/*
 * `npm run release -- --registry <host:port/namespace> --key <cosign.key> [--pub <cosign.pub>] [--plain-http]`:
 * from a commit that holds every input of the hub image, builds the image, pushes it to <registry>/hub, signs the pushed digest with the key, verifies
 * the signature with the public key before accepting the digest, attests the image's SPDX SBOM (syft)
 * with the same key and verifies that too, pulls the image back by digest, and records
 * { repository, digest, commit, builtAt } for dev in environments/images.json; then synthesizes, so
 * dist/ deploys that digest. Promote it onwards with `npm run promote`.
 *
 * `npm run release -- --record <repository@digest> --commit <sha> --built-at <time>` records an image
 * released elsewhere (the release workflow, which signs keyless) the same way, without building.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { imageRecordSchema, imagesFile, type ImageRecord } from '../../environments/images.ts';
import { buildHubImage } from '../containers/hub-image.ts';
import { podman, requirePodman } from '../containers/podman.ts';
import { repoRoot } from '../lib/tools.ts';
import { attestSbom, cosignBinary, signImage, verifyImage, verifySbomAttestation } from './cosign.ts';
import { recordImage, synthesize } from './images-file.ts';
import { syftBinary, writeSbom } from './sbom.ts';

export interface ReleaseOptions {
  /** `<host[:port]>/<namespace>`; the image goes to `<registry>/hub`. */
  readonly registry: string;
  /** cosign private key; its password is read from COSIGN_PASSWORD. */
  readonly key: string;
  /** The public key the signature must verify with. */
  readonly pub: string;
  /** The registry speaks plain HTTP (a loopback registry). */
  readonly plainHttp: boolean;
  /** Release even when the image's inputs differ from the commit recorded (a trial or a test). */
  readonly allowDirty?: boolean;
  /** The images file to record in. @default environments/images.json */
  readonly imagesPath?: string;
  readonly log?: (line: string) => void;
}

const REGISTRY_RULE = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d{1,5})?(\/[a-z0-9]([a-z0-9.-]*[a-z0-9])?)+$/;

/** Checks the options before anything is built; errors name the flag and the rule. */
export function checkReleaseOptions(options: ReleaseOptions): void {
  if (!REGISTRY_RULE.test(options.registry)) {
    throw new Error(
      `--registry: must be <host[:port]>/<namespace> in lowercase, without a scheme or tag, such as 127.0.0.1:5000/ringforge (got "${options.registry}")`,
    );
  }
  for (const [flag, path] of [
    ['--key', options.key],
    ['--pub', options.pub],
  ] as const) {
    if (!existsSync(path))
      throw new Error(`${flag}: ${path} does not exist (cosign generate-key-pair writes both keys)`);
  }
  if (process.env.COSIGN_PASSWORD === undefined) {
    throw new Error('COSIGN_PASSWORD: must be set to the password of --key (empty for a key without one)');
  }
}

const git = (args: string[]) => execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8' }).trim();

/** What the hub image is built from: the sources of the COPY lines of src/hub/Dockerfile's build stage. */
export function imageInputs(): string[] {
  return readFileSync(join(repoRoot, 'src/hub/Dockerfile'), 'utf8')
    .split('\n')
    .filter((line) => /^COPY\s/.test(line) && !line.includes('--from='))
    .flatMap((line) => line.trim().split(/\s+/).slice(1, -1));
}

/** Image inputs that differ from HEAD: with any, the image is not what the recorded commit holds. */
export function uncommittedImageInputs(repo = repoRoot): string[] {
  // Not trimmed: each line starts with two status columns, the first often a space.
  return execFileSync('git', ['status', '--porcelain', '--untracked-files=all', '--', ...imageInputs()], {
    cwd: repo,
    encoding: 'utf8',
  })
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => line.slice(3));
}

export async function releaseHub(options: ReleaseOptions): Promise<ImageRecord> {
  const log = options.log ?? ((line: string) => console.log(`[release] ${line}`));
  checkReleaseOptions(options);
  requirePodman();
  cosignBinary();
  syftBinary();
  const access = { plainHttp: options.plainHttp };
  const tlsVerify = `--tls-verify=${!options.plainHttp}`;
  const repository = `${options.registry}/hub`;
  const commit = git(['rev-parse', 'HEAD']);
  const uncommitted = uncommittedImageInputs();
  if (uncommitted.length > 0) {
    const files = uncommitted.join(', ');
    if (options.allowDirty !== true) {
      throw new Error(
        `the image would not be what commit ${commit.slice(0, 12)} holds: commit ${files} first (or pass --allow-dirty for a trial release)`,
      );
    }
    log(`--allow-dirty: the image holds uncommitted changes to ${files}; the record names ${commit.slice(0, 12)}`);
  }

  log('building the hub image');
  const image = await buildHubImage();
  const builtAt = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  log(`built ${image.ref} (${(image.sizeBytes / 1e6).toFixed(0)} MB)`);

  const work = mkdtempSync(join(tmpdir(), 'rf-release-'));
  let digest: string;
  try {
    const digestFile = join(work, 'digest');
    const tag = image.ref.slice(image.ref.lastIndexOf(':') + 1);
    log(`pushing to ${repository}:${tag}`);
    podman(['push', '--quiet', tlsVerify, '--digestfile', digestFile, image.ref, `${repository}:${tag}`], 300);
    digest = readFileSync(digestFile, 'utf8').trim();
    if (!/^sha256:[a-f0-9]{64}$/.test(digest)) throw new Error(`podman push wrote no sha256 digest (got "${digest}")`);
    const ref = `${repository}@${digest}`;

    log(`signing ${ref}`);
    signImage(ref, options.key, access);
    const verified = verifyImage(ref, digest, options.pub, access);
    if (!verified.ok)
      throw new Error(`the signature of ${ref} does not verify with ${options.pub}:\n${verified.reason}`);
    log(`signature verified with ${options.pub}`);

    const sbom = join(work, 'sbom.spdx.json');
    writeSbom(ref, sbom, access);
    attestSbom(ref, sbom, options.key, access);
    const attested = verifySbomAttestation(ref, digest, options.pub, access);
    if (!attested.ok)
      throw new Error(`the SBOM attestation of ${ref} does not verify with ${options.pub}:\n${attested.reason}`);
    const packages = (attested.sbom as { packages?: unknown[] }).packages?.length ?? 0;
    log(`SPDX SBOM (${packages} packages) attested and verified with ${options.pub}`);

    podman(['pull', '--quiet', tlsVerify, ref], 300);
    const pulled = podman(['image', 'inspect', '--format', '{{.Id}}', ref]);
    const built = podman(['image', 'inspect', '--format', '{{.Id}}', image.ref]);
    if (pulled !== built) throw new Error(`${ref} pulled back as image ${pulled}, not the built ${built}`);
    log(`pulled back by digest: image ${pulled.slice(0, 12)}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const record = { repository, digest, commit, builtAt };
  recordImage(options.imagesPath ?? imagesFile, 'dev', record);
  return record;
}

/**
 * Records for dev an image released and verified elsewhere, given as `<repository>@<digest>`; the
 * record is checked against the images file's rules first, and errors name the flag.
 */
export function recordRelease(ref: string, commit: string, builtAt: string, imagesPath = imagesFile): ImageRecord {
  const at = ref.lastIndexOf('@');
  const repository = ref.slice(0, Math.max(at, 0));
  if (at < 0 || !REGISTRY_RULE.test(repository)) {
    throw new Error(`--record: must be <host[:port]>/<namespace>/<name>@sha256:<64 hex> (got "${ref}")`);
  }
  const parsed = imageRecordSchema.safeParse({ repository, digest: ref.slice(at + 1), commit, builtAt });
  if (!parsed.success) {
    const flags: Record<string, string> = { digest: '--record', commit: '--commit', builtAt: '--built-at' };
    const problems = parsed.error.issues.map((i) => `${flags[String(i.path[0])] ?? i.path.join('.')}: ${i.message}`);
    throw new Error(problems.join('; '));
  }
  recordImage(imagesPath, 'dev', parsed.data);
  return parsed.data;
}

const USAGE = [
  'usage: npm run release -- --registry <host:port/namespace> --key <cosign.key> [--pub <cosign.pub>] [--plain-http] [--allow-dirty] [--images <file>]',
  '       npm run release -- --record <repository@digest> --commit <sha> --built-at <time> [--images <file>]',
].join('\n');

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      registry: { type: 'string' },
      key: { type: 'string' },
      pub: { type: 'string' },
      'plain-http': { type: 'boolean', default: false },
      'allow-dirty': { type: 'boolean', default: false },
      images: { type: 'string' },
      record: { type: 'string' },
      commit: { type: 'string' },
      'built-at': { type: 'string' },
    },
  });
  const recording = values.record !== undefined;
  // No default key: a private key is never looked for inside the repository, where it could be committed.
  if (
    recording
      ? values.commit === undefined || values['built-at'] === undefined || values.registry !== undefined
      : values.registry === undefined || values.key === undefined
  ) {
    console.error(USAGE);
    process.exit(2);
  }
  try {
    const imagesPath = values.images === undefined ? imagesFile : resolve(values.images);
    let record: ImageRecord;
    if (recording) {
      record = recordRelease(values.record!, values.commit!, values['built-at']!, imagesPath);
    } else {
      const key = resolve(values.key!);
      record = await releaseHub({
        registry: values.registry!,
        key,
        pub: values.pub === undefined ? key.replace(/(\.key)?$/, '.pub') : resolve(values.pub),
        plainHttp: values['plain-http'],
        allowDirty: values['allow-dirty'],
        imagesPath,
      });
    }
    console.log(`[release] dev: ${record.repository}@${record.digest} (commit ${record.commit.slice(0, 12)})`);
    if (imagesPath === imagesFile) {
      console.log('[release] synthesizing dist/ from environments/images.json');
      synthesize();
      console.log('[release] commit environments/images.json and dist/; promote with npm run promote -- dev staging');
    } else {
      console.log(
        `[release] recorded in ${imagesPath}; dist/ reads environments/images.json, so it was not synthesized`,
      );
    }
  } catch (err) {
    console.error(`[release] ${(err as Error).message}`);
    process.exit(1);
  }
}
