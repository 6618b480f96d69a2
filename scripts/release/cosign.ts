/*
 * cosign, built by `npm run toolchain`, signing and attesting with a key pair and without a transparency log: the
 * machine reaches no Rekor or TUF service, so signatures are checked against the public key alone.
 * The key's password travels only in COSIGN_PASSWORD, never on a command line or in a log.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../containers/podman.ts';
import { toolsDir } from '../lib/tools.ts';

export function cosignBinary(): string {
  const path = join(toolsDir, 'bin', 'cosign');
  if (!existsSync(path)) throw new Error(`cosign is not installed in ${toolsDir}/bin: run \`npm run toolchain\` first`);
  return path;
}

export interface RegistryAccess {
  /** The registry speaks plain HTTP (a loopback registry). */
  readonly plainHttp: boolean;
}

const registryFlags = (access: RegistryAccess) => (access.plainHttp ? ['--allow-http-registry'] : []);

/** Writes cosign.key (encrypted with COSIGN_PASSWORD) and cosign.pub into `dir`. */
export function generateKeyPair(dir: string): { key: string; pub: string } {
  run(cosignBinary(), ['generate-key-pair'], 60, dir);
  return { key: join(dir, 'cosign.key'), pub: join(dir, 'cosign.pub') };
}

/** Keyed and offline: no signing configuration fetched, nothing uploaded to a transparency log. */
const OFFLINE = ['--use-signing-config=false', '--tlog-upload=false', '--yes'];

/** Signs `<repository>@<digest>` and stores the signature beside it in the registry. */
export function signImage(ref: string, key: string, access: RegistryAccess): void {
  run(cosignBinary(), ['sign', '--key', key, ...registryFlags(access), ...OFFLINE, ref], 120);
}

/**
 * Whether `ref` carries a signature that `pub` verifies, for exactly `digest`; cosign's reason when
 * it does not. Verification trusts the key alone: there is no transparency log to check here.
 */
export function verifyImage(
  ref: string,
  digest: string,
  pub: string,
  access: RegistryAccess,
): { ok: true } | { ok: false; reason: string } {
  let output: string;
  try {
    output = run(
      cosignBinary(),
      ['verify', '--key', pub, ...registryFlags(access), '--insecure-ignore-tlog=true', '--output', 'json', ref],
      120,
    );
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
  const claims = JSON.parse(output) as { critical?: { image?: { 'docker-manifest-digest'?: string } } }[];
  const signed = claims.map((c) => c.critical?.image?.['docker-manifest-digest']);
  if (signed.length === 0 || signed.some((d) => d !== digest)) {
    return { ok: false, reason: `the verified claims sign ${signed.join(', ') || 'nothing'}, not ${digest}` };
  }
  return { ok: true };
}

/** The in-toto predicate type cosign gives an SPDX JSON attestation (`--type spdxjson`). */
export const SPDX_PREDICATE_TYPE = 'https://spdx.dev/Document';

/** Attaches `predicate` (an SPDX JSON document) to `ref` as an attestation signed with `key`. */
export function attestSbom(ref: string, predicate: string, key: string, access: RegistryAccess): void {
  run(
    cosignBinary(),
    ['attest', '--key', key, '--type', 'spdxjson', '--predicate', predicate, ...registryFlags(access), ...OFFLINE, ref],
    120,
  );
}

interface InTotoStatement {
  readonly predicateType?: string;
  readonly subject?: { digest?: { sha256?: string } }[];
  readonly predicate?: unknown;
}

/**
 * The SBOM attested for exactly `digest` that `pub` verifies, or cosign's reason when there is none.
 * cosign prints one DSSE envelope per verified attestation; its payload is the in-toto statement.
 */
export function verifySbomAttestation(
  ref: string,
  digest: string,
  pub: string,
  access: RegistryAccess,
): { ok: true; sbom: unknown } | { ok: false; reason: string } {
  // Not run(): the envelopes carry the whole SBOM, beyond spawnSync's default 1 MB of output.
  const result = spawnSync(
    cosignBinary(),
    [
      'verify-attestation',
      '--key',
      pub,
      '--type',
      'spdxjson',
      ...registryFlags(access),
      '--insecure-ignore-tlog=true',
      ref,
    ],
    { encoding: 'utf8', timeout: 120_000, maxBuffer: 256 * 1024 * 1024 },
  );
  if (result.error !== undefined) return { ok: false, reason: `cosign verify-attestation: ${result.error.message}` };
  if (result.status !== 0) return { ok: false, reason: result.stderr.trim().slice(-3000) };
  const output = result.stdout;
  const statements = output
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const envelope = JSON.parse(line) as { payload: string };
      return JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8')) as InTotoStatement;
    });
  const hex = digest.replace(/^sha256:/, '');
  const match = statements.find(
    (s) => s.predicateType === SPDX_PREDICATE_TYPE && s.subject?.some((subject) => subject.digest?.sha256 === hex),
  );
  if (match === undefined) {
    return { ok: false, reason: `no verified SPDX attestation names ${digest} (${statements.length} verified)` };
  }
  return { ok: true, sbom: match.predicate };
}
