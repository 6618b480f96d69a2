import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HETZNER_PRICES } from '../constructs/hetzner/prices.ts';
import { priceStacks, totalMonthly } from '../scripts/lib/cost.ts';
import { hetznerEnvironment, synthEnvironment } from './helpers/synth.ts';

const prices = {
  ...HETZNER_PRICES,
  serverMonthly: { cx23: 4, cpx42: 20 },
  loadBalancerMonthly: { lb11: 6 },
  volumePerGbMonthly: 0.05,
  primaryIpv4Monthly: 0.5,
  primaryIpv6Monthly: 0,
};

const labels = (role: string) => ({ 'ringforge/role': role });

describe('cost', () => {
  test('prices servers, load balancers, volumes and primary IPs per stack and role', () => {
    const lines = priceStacks(
      {
        'x-infra': {
          resource: {
            hcloud_server: {
              a: { server_type: 'cx23', labels: labels('hub') },
              b: { server_type: 'cx23', labels: labels('hub') },
              c: { server_type: 'cpx42', labels: labels('worker') },
            },
            hcloud_load_balancer: { lb: { load_balancer_type: 'lb11', labels: labels('load-balancer') } },
            hcloud_volume: { v: { size: 100, labels: labels('postgres') } },
            hcloud_primary_ip: {
              p4: { type: 'ipv4', labels: labels('hub') },
              p6: { type: 'ipv6', labels: labels('hub') },
            },
          },
        },
      },
      prices,
    );
    assert.deepEqual(
      lines.map((l) => [l.role, l.item, l.quantity, l.monthly]),
      [
        ['hub', 'primary ipv4', 1, 0.5],
        ['hub', 'primary ipv6', 1, 0],
        ['hub', 'server cx23', 2, 8],
        ['load-balancer', 'load balancer lb11', 1, 6],
        ['postgres', 'volume GB', 100, 5],
        ['worker', 'server cpx42', 1, 20],
      ],
    );
    assert.equal(totalMonthly(lines), 39.5);
  });

  test('an unknown server type is an error that names it, not a zero', () => {
    assert.throws(
      () => priceStacks({ s: { resource: { hcloud_server: { a: { server_type: 'cx99', labels: {} } } } } }, prices),
      /no server price for type "cx99"/,
    );
  });

  test('every server type the environments use has a price', () => {
    for (const name of ['dev', 'staging', 'prod']) {
      const lines = priceStacks(synthEnvironment(hetznerEnvironment(name)));
      assert.ok(totalMonthly(lines) > 0, name);
    }
  });

  test('prod in two regions costs what its servers and load balancers add up to', () => {
    const lines = priceStacks(synthEnvironment(hetznerEnvironment('prod')));
    const p = HETZNER_PRICES;
    const expected = 2 * (3 * p.serverMonthly.cpx22! + 4 * p.serverMonthly.cpx52! + p.loadBalancerMonthly.lb11!);
    assert.equal(totalMonthly(lines), Math.round(expected * 100) / 100);
  });
});
