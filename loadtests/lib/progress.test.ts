import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseOptions } from './options.ts';
import { LiveLine, plannedMs, progressText } from './progress.ts';
import { Registry } from './registry.ts';
import { SeriesRecorder } from './timeseries.ts';

describe('progress', () => {
  it('plans to the end of the scenario that ends last', () => {
    const options = parseOptions({
      scenarios: {
        steady: { executor: 'constant-vus', vus: 1, duration: '15s' },
        later: {
          executor: 'ramping-arrival-rate',
          startTime: '5s',
          preAllocatedVUs: 1,
          stages: [
            { target: 5, duration: '10s' },
            { target: 0, duration: '5s' },
          ],
        },
      },
    });
    assert.equal(plannedMs(options), 20_000);
  });

  it('says where the run is: time, connections, iterations and their rate, p95 so far, errors', () => {
    const registry = new Registry();
    let now = 0;
    const recorder = new SeriesRecorder(registry, { startMs: 0, now: () => now });
    registry.counter('iterations').add(30);
    registry.counter('iteration_errors').add(2);
    for (let i = 1; i <= 100; i++) registry.trend('fanout_latency').add(i);
    now = 1_000;
    recorder.look();
    registry.counter('iterations').add(10);
    now = 2_000;
    recorder.look();
    const state = {
      scenario: 'fanout',
      elapsedMs: 2_400,
      plannedMs: 15_000,
      connections: 42,
      registry,
      trend: 'fanout_latency',
      series: recorder.series,
    };
    assert.equal(
      progressText(state),
      'fanout: 2s/15s connections=42 iterations=40 (10.0/s) fanout_latency p95=95.0ms errors=2',
    );
    registry.counter('dropped_iterations').add(3);
    assert.match(progressText({ ...state, trend: 'none_yet' }), /none_yet p95=- errors=2 dropped=3$/);
  });

  it('redraws the status in place and prints other lines above it', () => {
    let written = '';
    const out = { columns: 20, write: (chunk: string) => (written += chunk) } as unknown as NodeJS.WriteStream;
    const live = new LiveLine(out);
    live.show('first');
    live.show('a status far wider than the terminal');
    live.print('dm: iteration failed');
    live.stop();
    assert.equal(
      written,
      '\r\x1b[2Kfirst\r\x1b[2Ka status far wider…\r\x1b[2Kdm: iteration failed\na status far wider…\r\x1b[2K',
    );
  });
});
