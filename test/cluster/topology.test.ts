import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadEnvironment } from '../../environments/index.ts';
import { defaultRegion, regionArgument, topologyLabels } from '../../scripts/cluster/topology.ts';

test('the nodes get the region and its datacenter as the hcloud cloud-controller-manager sets them', () => {
  assert.deepEqual(topologyLabels('fsn1'), {
    'topology.kubernetes.io/region': 'fsn1',
    'topology.kubernetes.io/zone': 'fsn1-dc14',
  });
  assert.equal(topologyLabels('nbg1')['topology.kubernetes.io/zone'], 'nbg1-dc3');
  assert.throws(() => topologyLabels('eu-central'), /unknown region "eu-central"/);
});

test('up takes --region in either form, and falls back to the default otherwise', () => {
  const fallback = () => 'nbg1';
  assert.equal(regionArgument(['--region', 'fsn1'], fallback), 'fsn1');
  assert.equal(regionArgument(['--region=hel1'], fallback), 'hel1');
  assert.equal(regionArgument([], fallback), 'nbg1');
  assert.throws(() => regionArgument(['--region'], fallback), /needs a location/);
  assert.throws(() => regionArgument(['--region', '--other'], fallback), /needs a location/);
});

test("the default region is the staging environment's first region's location", () => {
  const staging = loadEnvironment('staging');
  assert.ok(staging.platform === 'hetzner');
  assert.equal(defaultRegion(), staging.regions[0]!.location);
});
