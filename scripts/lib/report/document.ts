/*
 * What a report says, independent of how it is shown: drills and load tests build one of these and
 * the kit renders it as self-contained HTML and as Markdown, so every report reads alike.
 */

/** A cell can carry a verdict, which HTML colours. */
export type Cell = string | { readonly text: string; readonly tone: 'good' | 'bad' };

export interface Table {
  readonly title: string;
  readonly columns: readonly string[];
  readonly rows: readonly (readonly Cell[])[];
  /** Numbers read best right-aligned; columns not listed are left-aligned. */
  readonly numeric?: readonly number[];
}

export type Block =
  | ({ readonly kind: 'table' } & Table)
  | {
      readonly kind: 'figure';
      readonly title: string;
      /** An SVG from this kit's charts. */
      readonly svg: string;
      /** What Markdown shows instead of the picture; without it the figure is left out of report.md. */
      readonly fallback?: Table;
    }
  | { readonly kind: 'list'; readonly title: string; readonly items: readonly string[]; readonly tone?: 'bad' };

export interface ReportDocument {
  readonly title: string;
  readonly passed: boolean;
  readonly command: string;
  readonly blocks: readonly Block[];
}

export const statusText = (passed: boolean) => (passed ? 'PASSED' : 'FAILED');

export const cellText = (cell: Cell) => (typeof cell === 'string' ? cell : cell.text);

/** A pass/fail cell. */
export const verdictCell = (passed: boolean, failed = 'FAIL'): Cell =>
  passed ? { text: 'pass', tone: 'good' } : { text: failed, tone: 'bad' };
