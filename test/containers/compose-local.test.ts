/*
 * The substitutions that let CI run tier 0's compose file under podman: only images, host paths and
 * published ports change, and the file is re-read the same by a YAML 1.1 parser (podman-compose).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { NODE_EXPORTER_TEXTFILE_DIR } from '../../constructs/monitoring/servers.ts';
import { localizeCompose, type LocalizeOptions } from '../../scripts/containers/compose-local.ts';
import { repoRoot } from '../../scripts/lib/tools.ts';

const rendered = readFileSync(join(repoRoot, 'dist/compose/dev/compose.yaml'), 'utf8');
const options: LocalizeOptions = {
  images: {
    postgres: 'localhost/pg:1',
    valkey: 'localhost/valkey:1',
    hub: 'localhost/hub:1',
    proxy: 'localhost/nginx:1',
    prometheus: 'localhost/prometheus:1',
    alertmanager: 'localhost/alertmanager:1',
    'node-exporter': 'localhost/node-exporter:1',
    'postgres-exporter': 'localhost/postgres-exporter:1',
    'valkey-exporter': 'localhost/redis-exporter:1',
  },
  hostPaths: {
    '/etc/ringforge': '/scratch/etc',
    '/mnt/data': '/scratch/data',
    [NODE_EXPORTER_TEXTFILE_DIR]: '/scratch/textfiles',
  },
  ports: {
    'postgres:5432': 40001,
    'hub:9090': 40004,
    'proxy:8080': 40002,
    'proxy:8443': 40003,
    'prometheus:9090': 40005,
    'alertmanager:9093': 40006,
  },
};

/** The document with the substituted fields removed, to compare what must stay the same. */
function withoutSubstituted(doc: any): any {
  const copy = structuredClone(doc);
  for (const service of Object.values<any>(copy.services)) {
    delete service.image;
    delete service.volumes;
    delete service.env_file;
    delete service.ports;
  }
  delete copy.secrets;
  return copy;
}

describe('tier 0 compose file localized for podman', () => {
  it('changes only images, host paths and published ports', () => {
    // given / when
    const local = localizeCompose(rendered, options);
    const before = parse(rendered);
    const after = parse(local.yaml, { version: '1.1' });

    // then
    assert.deepEqual(withoutSubstituted(after), withoutSubstituted(before));
    assert.equal(after.services.hub.image, 'localhost/hub:1');
    assert.deepEqual(after.services.proxy.ports, ['127.0.0.1:40002:8080', '127.0.0.1:40003:8443']);
    assert.deepEqual(after.services.postgres.ports, ['127.0.0.1:40001:5432']);
    assert.deepEqual(after.services.hub.ports, ['127.0.0.1:40004:9090']);
    assert.deepEqual(after.networks, before.networks, 'the network and the subnet the hub trusts stay');
    assert.deepEqual(after.services.hub.env_file, ['/scratch/etc/secrets/hub.env']);
    assert.equal(after.secrets['postgres-password'].file, '/scratch/etc/secrets/postgres-password');
    assert.ok(after.services.proxy.volumes.includes('/scratch/etc/nginx.conf:/etc/nginx/nginx.conf:ro'));
    assert.doesNotMatch(local.yaml, /\/etc\/ringforge|\/mnt\/data/);
    assert.ok(local.substitutions.every((s) => s.path.startsWith('services.') || s.path.startsWith('secrets.')));
  });

  it('keeps valkey arguments strings for a YAML 1.1 reader (yes/no are not booleans)', () => {
    const local = localizeCompose(rendered, options);
    const command: unknown[] = parse(local.yaml, { version: '1.1' }).services.valkey.command;
    assert.ok(
      command.every((arg) => typeof arg === 'string'),
      JSON.stringify(command),
    );
    assert.deepEqual(command.slice(1, 3), ['--appendonly', 'yes']);
  });

  it('rejects a published port it was given no loopback port for', () => {
    const ports = Object.fromEntries(Object.entries(options.ports).filter(([key]) => key !== 'proxy:8443'));
    assert.throws(
      () => localizeCompose(rendered, { ...options, ports }),
      /services\.proxy\.ports\.1 publishes 443:8443/,
    );
  });

  it('rejects an image for a service the file does not have', () => {
    assert.throws(
      () => localizeCompose(rendered, { ...options, images: { ...options.images, mailer: 'localhost/mailer:1' } }),
      /no service to give an image: mailer/,
    );
  });
});
