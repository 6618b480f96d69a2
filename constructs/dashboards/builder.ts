/*
 * A typed builder for Grafana dashboards: dashboards are written as rows of panels with their
 * queries, and the builder lays them out on Grafana's 24-column grid and emits the JSON model the
 * Grafana sidecar of kube-prometheus-stack loads. No hand-drawn JSON: ids, positions, the datasource
 * variable and the panel options come from one place.
 */

/** Grafana's units for the values the RingForge panels show. */
export type Unit = 'short' | 'percentunit' | 's' | 'bytes' | 'reqps' | 'ops' | 'dateTimeAsIso';

export interface Query {
  readonly expr: string;
  /** Series name in the legend, with Grafana's `{{label}}` templates. */
  readonly legend?: string;
}

export interface Panel {
  readonly title: string;
  /** `stat` for one current number, `timeseries` for a history. @default 'timeseries' */
  readonly kind?: 'timeseries' | 'stat';
  readonly unit?: Unit;
  /** What the panel tells an operator, shown on hover. */
  readonly description?: string;
  readonly queries: readonly Query[];
  /** Values from which the panel turns red (stat background, time series threshold line). */
  readonly redAbove?: number;
  /** Columns of 24 the panel takes. @default an equal share of its row */
  readonly width?: number;
}

export interface Row {
  readonly title: string;
  readonly panels: readonly Panel[];
}

export interface Dashboard {
  readonly uid: string;
  readonly title: string;
  readonly description: string;
  readonly rows: readonly Row[];
  /** @default 'now-6h' */
  readonly from?: string;
}

/**
 * The p95 and p99 queries of a Prometheus histogram over 5 minutes, one series per value of the
 * `by` labels (named in the legend too).
 */
export function latencyPercentiles(buckets: string, selector: string, by: readonly string[] = []): Query[] {
  const legend = by.map((label) => ` {{${label}}}`).join('');
  return ([0.95, 0.99] as const).map((q) => ({
    expr: `histogram_quantile(${q}, sum by (${['le', ...by].join(', ')}) (rate(${buckets}{${selector}}[5m])))`,
    legend: `p${Math.round(q * 100)}${legend}`,
  }));
}

const GRID_COLUMNS = 24;
const HEIGHT = { timeseries: 8, stat: 4 } as const;
const DATASOURCE = { type: 'prometheus', uid: '${datasource}' } as const;

function thresholds(redAbove: number | undefined) {
  const steps: { color: string; value: number | null }[] = [{ color: 'green', value: null }];
  if (redAbove !== undefined) steps.push({ color: 'red', value: redAbove });
  return { mode: 'absolute', steps };
}

function panelJson(panel: Panel, id: number, gridPos: { x: number; y: number; w: number; h: number }) {
  const kind = panel.kind ?? 'timeseries';
  return {
    id,
    type: kind,
    title: panel.title,
    ...(panel.description ? { description: panel.description } : {}),
    gridPos,
    datasource: DATASOURCE,
    targets: panel.queries.map((q, i) => ({
      refId: String.fromCharCode(65 + i),
      datasource: DATASOURCE,
      expr: q.expr,
      ...(q.legend ? { legendFormat: q.legend } : {}),
    })),
    fieldConfig: {
      defaults: {
        unit: panel.unit ?? 'short',
        thresholds: thresholds(panel.redAbove),
        ...(kind === 'timeseries' && panel.redAbove !== undefined
          ? { custom: { thresholdsStyle: { mode: 'line' } } }
          : {}),
      },
      overrides: [],
    },
    options:
      kind === 'stat'
        ? { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, colorMode: 'background' }
        : { legend: { displayMode: 'list', placement: 'bottom', showLegend: true }, tooltip: { mode: 'multi' } },
  };
}

/** The Grafana JSON model of a dashboard: each row a header and its panels side by side. */
export function grafanaDashboard(dashboard: Dashboard): Record<string, unknown> {
  const panels: unknown[] = [];
  let id = 0;
  let y = 0;
  for (const row of dashboard.rows) {
    panels.push({
      id: ++id,
      type: 'row',
      title: row.title,
      collapsed: false,
      gridPos: { x: 0, y, w: GRID_COLUMNS, h: 1 },
      panels: [],
    });
    y += 1;
    const share = Math.floor(GRID_COLUMNS / row.panels.length);
    let x = 0;
    let rowHeight = 0;
    for (const panel of row.panels) {
      const w = panel.width ?? share;
      if (x + w > GRID_COLUMNS) {
        throw new Error(
          `dashboard ${dashboard.uid}, row "${row.title}": panels are wider than ${GRID_COLUMNS} columns`,
        );
      }
      const h = HEIGHT[panel.kind ?? 'timeseries'];
      panels.push(panelJson(panel, ++id, { x, y, w, h }));
      x += w;
      rowHeight = Math.max(rowHeight, h);
    }
    y += rowHeight;
  }
  return {
    uid: dashboard.uid,
    title: dashboard.title,
    description: dashboard.description,
    tags: ['ringforge'],
    schemaVersion: 39,
    editable: false,
    refresh: '30s',
    time: { from: dashboard.from ?? 'now-6h', to: 'now' },
    templating: {
      list: [
        {
          name: 'datasource',
          label: 'Prometheus',
          type: 'datasource',
          query: 'prometheus',
          current: { text: 'Prometheus', value: 'prometheus' },
        },
      ],
    },
    panels,
  };
}
