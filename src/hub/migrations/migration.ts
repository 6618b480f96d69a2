export interface Migration {
  /** Applied in ascending order; never reuse or renumber a released version. */
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}
