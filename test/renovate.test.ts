/*
 * renovate.json, checked without Renovate (its validator is AGPL, which the project does not adopt):
 * its structure, and each custom manager's regex applied to the files it names as Renovate applies
 * it. Every pin the managers are meant to keep current must be found at its current value, so a pin
 * that moves, or loses its `# renovate:` line, fails here instead of silently going stale.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { K3S_BOOTSTRAP } from '../constructs/hetzner/roles/k3s.ts';
import { PLATFORM_CHARTS } from '../constructs/k8s/platform.ts';
import { repoRoot } from '../scripts/lib/tools.ts';

interface CustomManager {
  readonly customType: string;
  readonly description?: string;
  readonly managerFilePatterns: string[];
  readonly matchStrings: string[];
  readonly datasourceTemplate?: string;
  readonly depNameTemplate?: string;
  readonly registryUrlTemplate?: string;
  readonly versioningTemplate?: string;
  readonly extractVersionTemplate?: string;
}

interface PackageRule {
  readonly matchManagers?: string[];
  readonly matchPackageNames?: string[];
  readonly [key: string]: unknown;
}

interface RenovateConfig {
  readonly enabledManagers: string[];
  readonly customManagers: CustomManager[];
  readonly packageRules: PackageRule[];
  readonly [key: string]: unknown;
}

interface Dep {
  readonly file: string;
  readonly datasource: string;
  readonly depName: string;
  readonly currentValue: string;
  readonly registryUrl?: string;
  readonly currentDigest?: string;
}

const config = JSON.parse(readFileSync(join(repoRoot, 'renovate.json'), 'utf8')) as RenovateConfig;
const trackedFiles = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], {
  cwd: repoRoot,
  encoding: 'utf8',
})
  .split('\n')
  .filter(Boolean);
const read = (file: string) => readFileSync(join(repoRoot, file), 'utf8');

/** Renovate writes file patterns as `/regex/`; a plain string would be a glob, which this file does not use. */
function filePattern(pattern: string): RegExp {
  const regex = /^\/(.+)\/$/.exec(pattern);
  assert.ok(regex, `managerFilePatterns: "${pattern}" must be a /regex/`);
  return new RegExp(regex[1]!);
}

/** The dependencies one manager extracts from `text`: every match of every matchString, with the templates filled in. */
function extract(manager: CustomManager, file: string, text: string): Dep[] {
  return manager.matchStrings.flatMap((source) =>
    [...text.matchAll(new RegExp(source, 'g'))].map((m) => {
      const groups = m.groups ?? {};
      return {
        file,
        datasource: (groups.datasource ?? manager.datasourceTemplate)!,
        depName: (groups.depName ?? manager.depNameTemplate)!,
        currentValue: groups.currentValue!,
        registryUrl: groups.registryUrl ?? manager.registryUrlTemplate,
        currentDigest: groups.currentDigest,
      };
    }),
  );
}

function managedFiles(manager: CustomManager): string[] {
  const patterns = manager.managerFilePatterns.map(filePattern);
  return trackedFiles.filter((file) => patterns.some((p) => p.test(file)));
}

const deps: Dep[] = config.customManagers.flatMap((m) => managedFiles(m).flatMap((f) => extract(m, f, read(f))));
const found = (expected: Omit<Dep, 'file'> & { file: string }) =>
  deps.some((d) => Object.entries(expected).every(([key, value]) => d[key as keyof Dep] === value));

/** toolchain.env pins no manager follows, and why (README: Keeping versions current). */
const UNMANAGED_PINS: Record<string, string> = {
  CLOUDFLARE_PROVIDER_VERSION:
    'served only as a pseudo-version of its release commit; moves with @cdktf/provider-cloudflare',
  CLOUDFLARE_PROVIDER_PSEUDO_VERSION: 'a pseudo-version, which no datasource orders',
  NODE_VERSION: 'moves with NODE_INTEGRITY, which Renovate cannot compute; a Node major is a reviewed move',
};

describe('renovate.json', () => {
  test('has the shape Renovate reads: known managers, regex managers with file patterns, templates or groups', () => {
    assert.equal(config.$schema, 'https://docs.renovatebot.com/renovate-schema.json');
    assert.deepEqual(config.enabledManagers, ['npm', 'github-actions', 'custom.regex']);
    const known = new Set([
      'customType',
      'description',
      'managerFilePatterns',
      'matchStrings',
      'datasourceTemplate',
      'depNameTemplate',
      'registryUrlTemplate',
      'versioningTemplate',
      'extractVersionTemplate',
    ]);
    for (const [i, manager] of config.customManagers.entries()) {
      const where = `customManagers[${i}]`;
      assert.equal(manager.customType, 'regex', where);
      for (const key of Object.keys(manager)) assert.ok(known.has(key), `${where}.${key}: not a regex manager field`);
      assert.ok(manager.matchStrings.length > 0, `${where}.matchStrings: empty`);
      for (const source of manager.matchStrings) {
        const groups = new Set([...source.matchAll(/\(\?<(\w+)>/g)].map((m) => m[1]));
        assert.ok(groups.has('currentValue'), `${where}: a matchString without (?<currentValue>)`);
        for (const field of ['datasource', 'depName'] as const) {
          assert.ok(
            groups.has(field) || manager[`${field}Template`] !== undefined,
            `${where}: neither a (?<${field}>) group nor ${field}Template`,
          );
        }
      }
      assert.ok(managedFiles(manager).length > 0, `${where}.managerFilePatterns: match no tracked file`);
      const extracted = deps.filter((d) => managedFiles(manager).includes(d.file));
      assert.ok(extracted.length > 0, `${where}: its matchStrings find nothing in ${managedFiles(manager).join(', ')}`);
    }
    const datasources = new Set(deps.map((d) => d.datasource));
    assert.deepEqual([...datasources].sort(), ['docker', 'github-releases', 'go', 'helm']);
  });

  test('every Go tool pinned in scripts/toolchain.env is managed at its pinned version and built from that module', () => {
    const env = read('scripts/toolchain.env');
    const built = ['scripts/toolchain.sh', 'scripts/cluster/build.sh'].map(read).join('\n');
    const pins = [...env.matchAll(/^([A-Z0-9_]+_VERSION)=(\S+)$/gm)].map((m) => [m[1]!, m[2]!] as const);
    assert.ok(pins.length >= 12, `${pins.length} pins`);
    for (const [name, value] of pins) {
      if (name in UNMANAGED_PINS) continue;
      const dep = deps.find((d) => d.file === 'scripts/toolchain.env' && d.currentValue === value);
      assert.ok(dep, `${name}=${value}: no "# renovate:" line right above it, so Renovate would never move it`);
      assert.equal(dep.datasource, 'go', name);
      assert.ok(built.includes(`${dep.depName} `), `${name}: ${dep.depName} is not the module the toolchain builds`);
    }
    for (const name of Object.keys(UNMANAGED_PINS)) assert.ok(env.includes(`\n${name}=`), `${name}: no longer pinned`);
  });

  test('a pin separated from its "# renovate:" line is no longer found', () => {
    const manager = config.customManagers.find((m) => m.managerFilePatterns.some((p) => p.includes('toolchain')))!;
    const moved = read('scripts/toolchain.env').replace(/^(SYFT_VERSION=)/m, '\n$1');
    const depNames = extract(manager, 'scripts/toolchain.env', moved).map((d) => d.depName);
    assert.ok(!depNames.includes('github.com/anchore/syft'), depNames.join(' '));
    assert.ok(depNames.includes('github.com/sigstore/cosign/v3'), depNames.join(' '));
  });

  test('grype, which only the release workflow runs, is managed at the version the workflow installs', () => {
    const workflow = read('.github/workflows/release.yml');
    const version = /^\s*GRYPE_VERSION: (\S+)$/m.exec(workflow)?.[1];
    assert.ok(version !== undefined && workflow.includes('github.com/anchore/grype/cmd/grype@v$GRYPE_VERSION'));
    assert.ok(
      found({
        file: '.github/workflows/release.yml',
        datasource: 'go',
        depName: 'github.com/anchore/grype',
        currentValue: version,
      }),
    );
  });

  test('every Helm chart the platform and the k3s bootstrap install is managed at its pinned version and repository', () => {
    for (const { repoUrl, chart, version } of Object.values(PLATFORM_CHARTS)) {
      assert.ok(
        found({
          file: 'constructs/k8s/platform.ts',
          datasource: 'helm',
          depName: chart,
          registryUrl: repoUrl,
          currentValue: version,
        }),
        `${chart} ${version} from ${repoUrl}`,
      );
    }
    const k3s = read('constructs/hetzner/roles/k3s.ts');
    const installs = [...k3s.matchAll(/helmChart\(\s*'[^']+',\s*'([^']+)',\s*'([^']+)',\s*K3S_BOOTSTRAP\.(\w+),/g)];
    assert.equal(installs.length, 3, 'the k3s bootstrap installs three charts');
    for (const [, repoUrl, chart, key] of installs) {
      const version = K3S_BOOTSTRAP[key as keyof typeof K3S_BOOTSTRAP];
      assert.ok(
        found({
          file: 'constructs/hetzner/roles/k3s.ts',
          datasource: 'helm',
          depName: chart!,
          registryUrl: repoUrl,
          currentValue: version,
        }),
        `${chart} ${version} from ${repoUrl}`,
      );
    }
    assert.ok(
      found({
        file: 'constructs/hetzner/roles/k3s.ts',
        datasource: 'github-releases',
        depName: 'k3s-io/k3s',
        currentValue: K3S_BOOTSTRAP.k3s,
      }),
    );
  });

  test('every container image the constructs name by a literal tag, and the hub base image, is managed', () => {
    const literal = /['"`]((?:docker\.io|quay\.io|ghcr\.io)\/[^'"`\s]+:[^'"`\s]+)['"`]/g;
    for (const file of trackedFiles.filter((f) => /^constructs\/.+\.ts$/.test(f))) {
      for (const [, ref] of read(file).matchAll(literal)) {
        // Built from the one Postgres major of every tier (constructs/postgres-version.ts), moved by review.
        if (ref!.includes('${')) continue;
        const [name, tag] = [ref!.slice(0, ref!.lastIndexOf(':')), ref!.slice(ref!.lastIndexOf(':') + 1)];
        assert.ok(found({ file, datasource: 'docker', depName: name, currentValue: tag }), `${file}: ${ref}`);
      }
    }
    const base = /^ARG BASE_IMAGE=([^:\s]+):(\S+)$/m.exec(read('src/hub/Dockerfile'));
    assert.ok(base, 'src/hub/Dockerfile: no ARG BASE_IMAGE=<image>:<tag>');
    const [name, tag] = [base[1]!, base[2]!.replace(/@sha256:.*$/, '')];
    assert.ok(found({ file: 'src/hub/Dockerfile', datasource: 'docker', depName: name, currentValue: tag }), base[0]);
  });

  test('every allowedVersions and regex versioning accepts the current pins it governs', () => {
    for (const [i, rule] of config.packageRules.entries()) {
      if (typeof rule.allowedVersions !== 'string') continue;
      const allowed = new RegExp(/^\/(.+)\/$/.exec(rule.allowedVersions)![1]!);
      const governed = deps.filter((d) => rule.matchPackageNames?.includes(d.depName));
      assert.ok(governed.length > 0, `packageRules[${i}]: allowedVersions governs no managed pin`);
      for (const dep of governed) assert.match(dep.currentValue, allowed, `packageRules[${i}]: ${dep.depName}`);
    }
    for (const manager of config.customManagers.filter((m) => m.versioningTemplate?.startsWith('regex:'))) {
      const versioning = new RegExp(manager.versioningTemplate!.slice('regex:'.length));
      for (const dep of deps.filter((d) => d.depName === manager.depNameTemplate)) {
        assert.match(dep.currentValue, versioning, `${dep.depName}: versioningTemplate`);
      }
    }
  });

  test('every package rule names dependencies that exist, and every action is pinned to a version', () => {
    const pkg = JSON.parse(read('package.json')) as Record<string, Record<string, string>>;
    const names = [
      ...Object.keys(pkg.dependencies!),
      ...Object.keys(pkg.devDependencies!),
      ...deps.map((d) => d.depName),
    ];
    for (const [i, rule] of config.packageRules.entries()) {
      for (const pattern of rule.matchPackageNames ?? []) {
        const regex = /^\/(.+)\/$/.exec(pattern);
        const matches = names.filter((n) => (regex ? new RegExp(regex[1]!).test(n) : n === pattern));
        assert.ok(matches.length > 0, `packageRules[${i}].matchPackageNames: "${pattern}" names no dependency`);
      }
    }
    for (const file of trackedFiles.filter((f) => /^\.github\/workflows\/.+\.ya?ml$/.test(f))) {
      for (const [, ref] of read(file).matchAll(/uses: (\S+)/g)) {
        assert.match(ref!, /^[\w.-]+\/[\w./-]+@v\d+(\.\d+){0,2}$/, `${file}: ${ref} is not pinned to a version`);
      }
    }
  });
});
