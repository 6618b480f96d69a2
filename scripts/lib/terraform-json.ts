/** Reading synthesized Terraform JSON (cdk.tf.json). */
export type TerraformJson = {
  resource?: Record<string, Record<string, Record<string, unknown>>>;
  data?: Record<string, Record<string, Record<string, unknown>>>;
  output?: Record<string, { value: unknown; sensitive?: boolean }>;
  terraform?: Record<string, unknown>;
};

/** Every resource (or data source) block as `{ type, name, body }`. */
export function blocks(doc: TerraformJson, kind: 'resource' | 'data' = 'resource') {
  return Object.entries(doc[kind] ?? {}).flatMap(([type, byName]) =>
    Object.entries(byName).map(([name, body]) => ({ type, name, body })),
  );
}
