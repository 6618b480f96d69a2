/*
 * Validates Kubernetes objects against their schemas, offline, the way `kubeconform -strict` would:
 * an unknown field, a wrong type or a missing required field is an error, and so is a kind with no
 * schema at all (nothing is skipped silently). Two layers:
 *
 * 1. imports/k8s-schemas.json (from `npm run k8s:import`): strict JSON Schemas for every kind the
 *    charts emit, custom resources included. This is the layer that knows every allowed field.
 * 2. The kubernetes-models validators, compiled from the upstream OpenAPI documents, for what the
 *    type declarations cannot carry: integer formats, enums and patterns.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { repoRoot } from './tools.ts';

export interface SchemaViolation {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly message: string;
}

interface KubeObject {
  readonly apiVersion?: unknown;
  readonly kind?: unknown;
  readonly metadata?: { readonly name?: unknown; readonly namespace?: unknown };
}

type ModelClass = new (data: object) => { validate(): void };

/** Packages whose validators cover an API group; groups not listed rely on layer 1 alone (CRD files). */
const MODEL_PACKAGES: Record<string, string> = {
  'argoproj.io': '@kubernetes-models/argo-cd',
  'monitoring.coreos.com': '@kubernetes-models/prometheus-operator',
};
const CRD_GROUPS = new Set([
  'postgresql.cnpg.io',
  'barmancloud.cnpg.io',
  'keda.sh',
  'gateway.networking.k8s.io',
  'traefik.io',
]);

const modelPackage = (apiVersion: string): string | undefined => {
  const group = apiVersion.includes('/') ? apiVersion.split('/')[0]! : '';
  if (CRD_GROUPS.has(group)) return undefined;
  return MODEL_PACKAGES[group] ?? 'kubernetes-models';
};

const format = (errors: readonly ErrorObject[] | null | undefined): string[] =>
  (errors ?? []).map((e) => {
    const where = e.instancePath || '/';
    if (e.keyword === 'additionalProperties') return `${where}: unknown field "${String(e.params.additionalProperty)}"`;
    return `${where}: ${e.message ?? e.keyword}`;
  });

export class K8sSchemaValidator {
  private readonly ajv = new Ajv({ allErrors: true, strict: false, validateFormats: true });
  private readonly compiled = new Map<string, ValidateFunction>();
  private readonly kinds: ReadonlySet<string>;

  constructor(schemaFile = join(repoRoot, 'imports', 'k8s-schemas.json')) {
    addFormats.default(this.ajv);
    // Kubernetes' own formats: the type layer checks these values; ajv only has to accept the names.
    for (const name of ['int-or-string', 'quantity', 'cidr', 'mac', 'duration']) this.ajv.addFormat(name, true);
    const doc = JSON.parse(readFileSync(schemaFile, 'utf8')) as { kinds: Record<string, object> };
    this.kinds = new Set(Object.keys(doc.kinds));
    this.ajv.addSchema(doc, 'k8s');
  }

  private schemaFor(key: string): ValidateFunction {
    let fn = this.compiled.get(key);
    if (!fn) {
      fn = this.ajv.getSchema(`k8s#/kinds/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`);
      if (!fn) throw new Error(`schema for ${key} did not compile`);
      this.compiled.set(key, fn);
    }
    return fn;
  }

  private async modelFor(apiVersion: string, kind: string): Promise<ModelClass | undefined> {
    const pkg = modelPackage(apiVersion);
    if (!pkg) return undefined;
    const module = (await import(`${pkg}/${apiVersion}`)) as Record<string, unknown>;
    const model = module[kind];
    if (typeof model !== 'function') throw new Error(`${pkg}/${apiVersion} has no model for ${kind}`);
    return model as ModelClass;
  }

  /** Every problem of every object; an empty list means all objects are valid. */
  async validate(objects: readonly object[]): Promise<SchemaViolation[]> {
    const violations: SchemaViolation[] = [];
    for (const obj of objects as readonly KubeObject[]) {
      const kind = typeof obj.kind === 'string' ? obj.kind : '<no kind>';
      const apiVersion = typeof obj.apiVersion === 'string' ? obj.apiVersion : '<no apiVersion>';
      const at = {
        kind,
        namespace: typeof obj.metadata?.namespace === 'string' ? obj.metadata.namespace : '',
        name: typeof obj.metadata?.name === 'string' ? obj.metadata.name : '<no name>',
      };
      const key = `${apiVersion}/${kind}`;
      if (!this.kinds.has(key)) {
        violations.push({ ...at, message: `no schema for ${key} (add it to scripts/lib/k8s-import.ts)` });
        continue;
      }
      const strict = this.schemaFor(key);
      const messages = strict(obj) ? [] : format(strict.errors);
      const Model = await this.modelFor(apiVersion, kind);
      if (Model) {
        try {
          new Model(obj).validate();
        } catch (err) {
          messages.push(...(err as Error).message.split(', ').map((m) => m.replace(/^data/, '')));
        }
      }
      violations.push(...[...new Set(messages)].map((message) => ({ ...at, message })));
    }
    return violations;
  }
}
