import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HubMetrics } from '../../src/hub/metrics.ts';
import { parseHubSample } from './hub-metrics.ts';

describe('load tests: a hub’s figures from its /metrics text', () => {
  it('reads the resident memory and connected agents of the hub’s own registry', async () => {
    const metrics = new HubMetrics('hub-a');
    metrics.connectedAgents.set(7);
    const sample = parseHubSample(await metrics.registry.metrics());
    assert.equal(sample.replica, 'hub-a');
    assert.equal(sample.connectedAgents, 7);
    // This process's own resident memory, as the hub's default metrics report it.
    assert.ok(sample.rssBytes > 10 * 1024 * 1024 && sample.rssBytes < 64 * 1024 ** 3, `${sample.rssBytes} bytes`);
  });

  it('names the sample it could not find', () => {
    assert.throws(
      () => parseHubSample('hub_connected_agents{replica="hub-a"} 3\n'),
      /no hub_process_resident_memory_bytes\{replica="…"\} sample/,
    );
  });
});
