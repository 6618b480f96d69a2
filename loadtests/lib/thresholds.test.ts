import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseOptions, type OptionsInput } from './options.ts';
import { Registry } from './registry.ts';
import {
  THRESHOLDS_FAILED_EXIT_CODE,
  abortingFailures,
  evaluateThresholds,
  parseThresholdExpression,
  parseThresholdKey,
} from './thresholds.ts';

function thresholdsOf(thresholds: OptionsInput['thresholds']) {
  return parseOptions({ scenarios: { dm: { executor: 'constant-vus', duration: '1s' } }, thresholds }).thresholds;
}

describe('parseThresholdExpression', () => {
  test('reads every stat k6 accepts', () => {
    const cases = {
      'p(95)<50': { stat: 'p(95)', percentile: 95, operator: '<', bound: 50 },
      'p(99.9)<=200': { stat: 'p(99.9)', percentile: 99.9, operator: '<=', bound: 200 },
      'avg<10': { stat: 'avg', operator: '<', bound: 10 },
      'med<5': { stat: 'med', operator: '<', bound: 5 },
      'min>0': { stat: 'min', operator: '>', bound: 0 },
      'max<1000': { stat: 'max', operator: '<', bound: 1000 },
      'count>100': { stat: 'count', operator: '>', bound: 100 },
      'rate<0.01': { stat: 'rate', operator: '<', bound: 0.01 },
      'rate>=0.99': { stat: 'rate', operator: '>=', bound: 0.99 },
      'value<5': { stat: 'value', operator: '<', bound: 5 },
      ' p( 90 ) != -1.5 ': { stat: 'p(90)', percentile: 90, operator: '!=', bound: -1.5 },
    };
    for (const [expression, rule] of Object.entries(cases)) {
      assert.deepEqual(parseThresholdExpression(expression), rule, expression);
    }
  });

  test('rejects what is not <stat><op><number>, quoting it', () => {
    for (const bad of ['p(95)<<50', 'p95<50', 'avg', 'mean<10', 'avg<ten', 'rate=0.1', '']) {
      assert.throws(
        () => parseThresholdExpression(bad),
        new RegExp(`"${bad.replace(/[()]/g, '\\$&')}" is not a threshold expression: use <stat><op><number>`),
      );
    }
  });

  test('rejects a percentile above 100', () => {
    assert.throws(() => parseThresholdExpression('p(100.5)<1'), /the percentile must be between 0 and 100/);
  });
});

describe('parseThresholdKey', () => {
  test('reads the metric name and the tag selector', () => {
    assert.deepEqual(parseThresholdKey('dm_latency'), { metric: 'dm_latency', selector: {} });
    assert.deepEqual(parseThresholdKey('dm_latency{scenario:dm, replica:"a"}'), {
      metric: 'dm_latency',
      selector: { scenario: 'dm', replica: 'a' },
    });
    assert.deepEqual(parseThresholdKey('checks{check:url is http://hub:8080}').selector, {
      check: 'url is http://hub:8080',
    });
  });

  test('rejects a bad metric name or selector', () => {
    assert.throws(() => parseThresholdKey('dm latency'), /"dm latency" does not name a metric/);
    assert.throws(() => parseThresholdKey('dm_latency{scenario'), /does not name a metric/);
    assert.throws(() => parseThresholdKey('dm_latency{scenario}'), /"dm_latency\{scenario\}" has a bad tag selector/);
    assert.throws(() => parseThresholdKey('dm_latency{}'), /has a bad tag selector/);
  });
});

describe('options.thresholds', () => {
  test('errors name the metric key, the position and the rule', () => {
    assert.throws(
      () => thresholdsOf({ dm_latency: ['p(95)<50', 'p(95)<<50'], 'dm_latency{replica}': ['avg<5'] }),
      (error: Error) => {
        assert.match(
          error.message,
          /thresholds\.dm_latency\[1\]: "p\(95\)<<50" is not a threshold expression: use <stat><op><number>, e\.g\. p\(95\)<50/,
        );
        assert.match(
          error.message,
          /thresholds\.dm_latency\{replica\}: "dm_latency\{replica\}" has a bad tag selector/,
        );
        return true;
      },
    );
  });

  test('takes the object form with abortOnFail and delayAbortEval', () => {
    const [plain, aborting] = thresholdsOf({
      'dm_latency{scenario:dm}': ['p(95)<50', { threshold: 'p(99)<200', abortOnFail: true, delayAbortEval: '10s' }],
    });
    assert.equal(plain?.abortOnFail, false);
    assert.deepEqual(
      [aborting?.key, aborting?.index, aborting?.metric, aborting?.selector, aborting?.abortOnFail],
      ['dm_latency{scenario:dm}', 1, 'dm_latency', { scenario: 'dm' }, true],
    );
    assert.equal(aborting?.delayAbortEvalMs, 10_000);
  });

  test('rejects a delayAbortEval that is not a duration', () => {
    assert.throws(
      () => thresholdsOf({ dm_latency: [{ threshold: 'avg<5', delayAbortEval: 'soon' }] }),
      /thresholds\.dm_latency\[0\]\.delayAbortEval: must be a duration like 500ms, 30s or 1m30s \(got "soon"\)/,
    );
  });
});

describe('evaluateThresholds', () => {
  function recorded() {
    const registry = new Registry();
    for (let ms = 1; ms <= 100; ms++) registry.trend('dm_latency').add(ms, { scenario: 'dm' });
    for (let ms = 1; ms <= 100; ms++) registry.trend('dm_latency').add(ms * 10, { scenario: 'broadcast' });
    for (let i = 0; i < 200; i++) registry.rate('dm_delivered').add(i !== 0, { scenario: 'dm' });
    registry.counter('dropped_iterations').add(3, { scenario: 'dm' });
    registry.gauge('vus').add(40, { scenario: 'dm' });
    return registry;
  }

  test('reports each threshold with its observed value, and one verdict', () => {
    // given
    const thresholds = thresholdsOf({
      'dm_latency{scenario:dm}': ['p(95)<100', 'max<=100', 'avg<50'],
      dm_latency: ['p(99)<500'],
      dm_delivered: ['rate>=0.99'],
      dropped_iterations: ['count<1'],
      vus: ['value<=40', 'max<50'],
    });

    // when
    const verdict = evaluateThresholds(recorded(), thresholds);

    // then: percentiles are the top of their HDR bucket, within 0.1% of the sample
    const outcome = verdict.results.map((r) => [r.threshold.key, r.threshold.expression, r.passed, r.observed]);
    assert.deepEqual(outcome, [
      ['dm_latency{scenario:dm}', 'p(95)<100', true, 95.039],
      ['dm_latency{scenario:dm}', 'max<=100', true, 100],
      ['dm_latency{scenario:dm}', 'avg<50', false, 50.5],
      ['dm_latency', 'p(99)<500', false, 980.479],
      ['dm_delivered', 'rate>=0.99', true, 0.995],
      ['dropped_iterations', 'count<1', false, 3],
      ['vus', 'value<=40', true, 40],
      ['vus', 'max<50', true, 40],
    ]);
    assert.equal(verdict.passed, false);
    assert.equal(THRESHOLDS_FAILED_EXIT_CODE, 99);
  });

  test('passes when every threshold does', () => {
    const verdict = evaluateThresholds(recorded(), thresholdsOf({ dm_latency: ['min>0', 'count==200'] }));
    assert.equal(verdict.passed, true);
  });

  test('fails, and says why, a threshold it cannot evaluate', () => {
    const verdict = evaluateThresholds(
      recorded(),
      thresholdsOf({
        ws_connect: ['p(95)<100'],
        'dm_latency{scenario:login}': ['p(95)<100'],
        dm_delivered: ['p(95)<100'],
        dropped_iterations: ['rate<0.1'],
      }),
    );
    assert.deepEqual(
      verdict.results.map((r) => [r.passed, r.problem]),
      [
        [false, 'no metric named ws_connect was recorded'],
        [false, 'no samples of dm_latency{scenario:login} were recorded'],
        [false, 'p(95) does not apply to rate dm_delivered (use rate)'],
        [false, 'rate does not apply to counter dropped_iterations (use count)'],
      ],
    );
  });

  test('a counter nothing matched counts 0 rather than having no value', () => {
    const verdict = evaluateThresholds(recorded(), thresholdsOf({ 'dropped_iterations{scenario:x}': ['count<1'] }));
    assert.deepEqual([verdict.passed, verdict.results[0]?.observed], [true, 0]);
  });
});

describe('abortingFailures', () => {
  test('names the breached abortOnFail thresholds once their delayAbortEval has passed', () => {
    // given
    const registry = new Registry();
    registry.trend('dm_latency').add(300);
    const verdict = evaluateThresholds(
      registry,
      thresholdsOf({
        dm_latency: [
          'p(95)<50',
          { threshold: 'p(99)<100', abortOnFail: true },
          { threshold: 'max<100', abortOnFail: true, delayAbortEval: '10s' },
          { threshold: 'max<1000', abortOnFail: true },
        ],
        ws_connect: [{ threshold: 'p(95)<100', abortOnFail: true }],
      }),
    );

    // then: not the one without abortOnFail, nor the passing one, nor one without samples yet
    assert.deepEqual(
      abortingFailures(verdict, 5_000).map((r) => r.threshold.expression),
      ['p(99)<100'],
    );
    assert.deepEqual(
      abortingFailures(verdict, 10_000).map((r) => r.threshold.expression),
      ['p(99)<100', 'max<100'],
    );
  });
});
