import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadEnvironment } from '../../environments/index.ts';
import * as connect from '../scenarios/connect.ts';
import * as dm from '../scenarios/dm.ts';
import * as fanout from '../scenarios/fanout.ts';
import * as offline from '../scenarios/offline.ts';
import { parseOptions, type Scenario } from './options.ts';
import {
  agentName,
  agentNames,
  parseSlice,
  shareOf,
  sliceFromEnv,
  sliceOptions,
  sliceRunId,
  sliceScenario,
  type Slice,
} from './slices.ts';

const slicesOf = (count: number): Slice[] => Array.from({ length: count }, (_, index) => ({ index, count }));
const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);

describe('slices: parsing', () => {
  it('reads <index>/<count> from the flag or from an Indexed Job pod', () => {
    assert.deepEqual(parseSlice('2/3'), { index: 2, count: 3 });
    assert.deepEqual(sliceFromEnv({ JOB_COMPLETION_INDEX: '1', LOADTEST_PARALLELISM: '4' }), { index: 1, count: 4 });
    assert.equal(sliceFromEnv({}), undefined);
  });

  it('names what is wrong', () => {
    assert.throws(() => parseSlice('3/3'), /the index must be < the count/);
    assert.throws(() => parseSlice('0/0'), /the count must be >= 1/);
    assert.throws(() => parseSlice('1of3'), /--slice must be <index>\/<count>/);
    assert.throws(
      () => sliceFromEnv({ JOB_COMPLETION_INDEX: '1' }),
      /set both JOB_COMPLETION_INDEX and LOADTEST_PARALLELISM/,
    );
  });
});

describe('slices: dividing the work', () => {
  it('gives remainders to the lowest indexes, and the shares add up to the total', () => {
    assert.deepEqual(
      slicesOf(3).map((s) => shareOf(50, s)),
      [17, 17, 16],
    );
    for (const count of [1, 2, 3, 7]) {
      for (const total of [0, 1, 5, 50, 1001]) {
        assert.equal(sum(slicesOf(count).map((s) => shareOf(total, s))), total, `${total} over ${count}`);
      }
    }
  });

  // Every scenario's rates and VU targets, summed over the slices, are the unsliced values.
  const slo = loadEnvironment('local').slo;
  const modules = { connect, dm, fanout, offline };
  for (const [name, module] of Object.entries(modules)) {
    for (const profile of ['smoke', 'full'] as const) {
      it(`${name} (${profile}): sliced 3 ways, rates and VUs add up to the whole`, () => {
        const options = parseOptions(module.options(slo, profile));
        const sliced = slicesOf(3).map((s) => sliceOptions(options, s));
        for (const [scenarioName, whole] of Object.entries(options.scenarios)) {
          const parts = sliced.map((o) => o.scenarios[scenarioName]).filter((s): s is Scenario => s !== undefined);
          assert.deepEqual(workOf(parts), workOf([whole]), scenarioName);
          // The parts are valid options on their own.
          for (const part of parts) parseOptions({ scenarios: { [scenarioName]: part } });
        }
      });
    }
  }

  it('leaves out a scenario a slice gets nothing of, and refuses a slice with no work at all', () => {
    const options = parseOptions({
      scenarios: {
        few: { executor: 'constant-arrival-rate', rate: 2, duration: '1s', preAllocatedVUs: 1 },
        many: { executor: 'constant-vus', vus: 3, duration: '1s' },
      },
    });
    assert.deepEqual(Object.keys(sliceOptions(options, { index: 2, count: 3 }).scenarios), ['many']);
    assert.deepEqual(sliceOptions(options, { index: 0, count: 3 }).scenarios.few, {
      ...options.scenarios.few,
      rate: 1,
      preAllocatedVUs: 1,
      maxVUs: 1,
    });
    assert.throws(() => sliceOptions(options, { index: 3, count: 4 }), /slice 3\/4 gets no work/);
  });

  it('ramps divide stage by stage', () => {
    const ramp = parseOptions({
      scenarios: {
        r: {
          executor: 'ramping-arrival-rate',
          startRate: 5,
          stages: [
            { target: 10, duration: '1s' },
            { target: 0, duration: '1s' },
          ],
          preAllocatedVUs: 4,
          maxVUs: 9,
        },
      },
    }).scenarios.r!;
    assert.deepEqual(
      slicesOf(2).map((s) => {
        const part = sliceScenario(ramp, s);
        return part?.executor === 'ramping-arrival-rate' ? [part.startRate, ...part.stages.map((x) => x.target)] : [];
      }),
      [
        [3, 5, 0],
        [2, 5, 0],
      ],
    );
  });
});

/** What a list of scenario parts does in all, by the numbers slicing divides. */
function workOf(parts: readonly Scenario[]): Record<string, number> {
  const totals: Record<string, number> = {};
  const add = (key: string, n: number) => (totals[key] = (totals[key] ?? 0) + n);
  for (const s of parts) {
    if (s.executor === 'constant-arrival-rate') add('rate', s.rate);
    if (s.executor === 'constant-vus') add('vus', s.vus);
    if (s.executor === 'ramping-arrival-rate') add('startRate', s.startRate);
    if (s.executor === 'ramping-vus') add('startVUs', s.startVUs);
    if ('preAllocatedVUs' in s) add('preAllocatedVUs', s.preAllocatedVUs);
    if ('stages' in s) s.stages.forEach((stage, i) => add(`stage ${i}`, stage.target));
  }
  return totals;
}

describe('slices: agent names', () => {
  it('never collide between the slices of one run, even when the rest of the name is the same', () => {
    const base = new Date('2026-12-01T10:00:00Z');
    const names = slicesOf(3).flatMap((s) => {
      const runId = sliceRunId(base, s);
      return [
        ...agentNames('lt-dm', runId, 12),
        ...Array.from({ length: 12 }, (_, i) => agentName('lt-connect', runId, i % 4, Math.floor(i / 4))),
      ];
    });
    assert.equal(names.length, 3 * 24);
    assert.equal(new Set(names).size, names.length);
    assert.equal(agentName('lt-connect', sliceRunId(base, { index: 1, count: 3 }), 2, 7), 'lt-connect-mx4izwg0-1-2-7');
  });
});
