/*
 * Regenerates what imports/ holds for the Kubernetes manifests (`npm run k8s:import`):
 *
 * - typed cdk8s constructs for the CloudNativePG, Barman Cloud plugin and KEDA CRDs (`cdk8s import`);
 * - imports/k8s-schemas.json, the strict JSON Schemas `npm test` validates every object in dist/k8s
 *   against, offline. Core kinds, ArgoCD and prometheus-operator kinds come from the kubernetes-models
 *   type declarations (generated from the upstream OpenAPI documents and CRDs); custom resources with a
 *   CRD file in ../shared/crds come from the CRD's openAPIV3Schema. Every object schema that names its
 *   properties rejects any other (`additionalProperties: false`), as kubectl's strict field
 *   validation does; maps and preserve-unknown-fields objects stay open.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from './tools.ts';

const NODE_MODULES = join(repoRoot, 'node_modules');
const CRDS = join(repoRoot, '..', 'shared', 'crds');
const OUTPUT = join(repoRoot, 'imports');

/** Kinds the charts emit (or may), by the package whose declarations describe them. */
const MODEL_KINDS: Record<string, Record<string, readonly string[]>> = {
  'kubernetes-models': {
    v1: ['ConfigMap', 'Namespace', 'PersistentVolumeClaim', 'Secret', 'Service', 'ServiceAccount'],
    'apps/v1': ['Deployment', 'StatefulSet'],
    'autoscaling/v2': ['HorizontalPodAutoscaler'],
    'batch/v1': ['CronJob', 'Job'],
    'networking.k8s.io/v1': ['Ingress', 'NetworkPolicy'],
    'policy/v1': ['PodDisruptionBudget'],
    'rbac.authorization.k8s.io/v1': ['Role', 'RoleBinding'],
    'scheduling.k8s.io/v1': ['PriorityClass'],
  },
  '@kubernetes-models/argo-cd': { 'argoproj.io/v1alpha1': ['Application', 'AppProject'] },
  '@kubernetes-models/prometheus-operator': {
    'monitoring.coreos.com/v1': ['PodMonitor', 'PrometheusRule', 'ServiceMonitor'],
  },
};

/** CRD files in ../shared/crds, grouped into one cdk8s module per API group. */
const CRD_MODULES: Record<string, readonly string[]> = {
  'postgresql.cnpg.io': [
    'postgresql.cnpg.io_clusters.yaml',
    'postgresql.cnpg.io_scheduledbackups.yaml',
    'postgresql.cnpg.io_backups.yaml',
  ],
  'barmancloud.cnpg.io': ['barmancloud.cnpg.io_objectstores.yaml'],
  'keda.sh': ['keda.sh_scaledobjects.yaml'],
  'gateway.networking.k8s.io': ['gateway.networking.k8s.io_gateways.yaml', 'gateway.networking.k8s.io_httproutes.yaml'],
  // Traefik ships its CRDs as one file; the gateway's client-certificate TLSOption is one of them.
  'traefik.io': ['traefik.io_crds-v3.7.9.yaml'],
};

type Schema = Record<string, unknown>;
const OBJECT_META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';

/** Converts kubernetes-models interfaces into JSON Schema definitions, one per named interface. */
class DeclarationConverter {
  readonly defs: Record<string, Schema> = {};
  private readonly checker: ts.TypeChecker;

  constructor(private readonly program: ts.Program) {
    this.checker = program.getTypeChecker();
  }

  root(file: string, kind: string): Schema {
    const source = this.program.getSourceFile(file);
    const module = source && this.checker.getSymbolAtLocation(source);
    const symbol = module && this.checker.getExportsOfModule(module).find((s) => s.name === `I${kind}`);
    if (!symbol) throw new Error(`${file} does not declare I${kind}`);
    return this.convert(this.checker.getDeclaredTypeOfSymbol(symbol));
  }

  private convert(type: ts.Type): Schema {
    const f = type.flags;
    if (f & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return {};
    if (f & ts.TypeFlags.String) return { type: 'string' };
    if (f & ts.TypeFlags.Number) return { type: 'number' };
    if (f & (ts.TypeFlags.Boolean | ts.TypeFlags.BooleanLiteral)) return { type: 'boolean' };
    if (type.isStringLiteral()) return { type: 'string', enum: [type.value] };
    if (type.isNumberLiteral()) return { type: 'number', enum: [type.value] };
    if (type.isUnion())
      return this.union(type.types.filter((t) => !(t.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Null))));
    if (this.checker.isArrayType(type)) {
      const [item] = this.checker.getTypeArguments(type as ts.TypeReference);
      return { type: 'array', items: item ? this.convert(item) : {} };
    }
    if (f & ts.TypeFlags.Object) return this.object(type);
    throw new Error(`no JSON Schema for TypeScript type ${this.checker.typeToString(type)}`);
  }

  private union(types: ts.Type[]): Schema {
    if (types.length === 1) return this.convert(types[0]!);
    if (types.every((t) => t.flags & ts.TypeFlags.BooleanLiteral)) return { type: 'boolean' };
    if (types.every((t) => t.isStringLiteral())) {
      return { type: 'string', enum: types.map((t) => (t as ts.StringLiteralType).value).sort() };
    }
    const parts = types.map((t) => this.convert(t));
    if (parts.every((p) => Object.keys(p).length === 1 && typeof p.type === 'string')) {
      return { type: [...new Set(parts.map((p) => p.type as string))].sort() };
    }
    return { anyOf: parts };
  }

  /** A named interface becomes a shared definition (k8s types are recursive, e.g. JSONSchemaProps). */
  private object(type: ts.Type): Schema {
    const declaration = type.symbol?.declarations?.[0];
    const named = declaration && ts.isInterfaceDeclaration(declaration);
    const key = named ? this.defKey(declaration) : undefined;
    if (key && key in this.defs) return { $ref: `#/$defs/${key}` };
    if (key) this.defs[key] = {};
    const properties: Record<string, Schema> = {};
    const required: string[] = [];
    for (const prop of this.checker.getPropertiesOfType(type)) {
      const site = prop.valueDeclaration ?? prop.declarations?.[0];
      if (!site) continue;
      properties[prop.name] = this.convert(this.checker.getTypeOfSymbolAtLocation(prop, site));
      if (!(prop.flags & ts.SymbolFlags.Optional)) required.push(prop.name);
    }
    const index = this.checker.getIndexInfosOfType(type).find((i) => i.keyType.flags & ts.TypeFlags.String);
    // An interface without fields (RawExtension, free-form values) holds arbitrary JSON.
    const schema: Schema =
      Object.keys(properties).length === 0 && !index
        ? {}
        : {
            type: 'object',
            properties,
            ...(required.length ? { required: required.sort() } : {}),
            additionalProperties: index ? this.convert(index.type) : false,
          };
    if (!key) return schema;
    this.defs[key] = schema;
    return { $ref: `#/$defs/${key}` };
  }

  /** `kubernetes-models.apps.v1.DeploymentSpec`: the package and path that declare it. */
  private defKey(declaration: ts.InterfaceDeclaration): string {
    const file = relative(NODE_MODULES, declaration.getSourceFile().fileName).replace(/\.d\.ts$/, '');
    const name = declaration.name.text;
    const key = file.replace(/^@/, '').replaceAll('/', '.');
    return name === `I${file.split('/').pop()}` ? key : `${key}.${name}`;
  }
}

/** Adds `additionalProperties: false` wherever a structural CRD schema lists the allowed fields. */
function strictCrdSchema(node: Schema): Schema {
  const out: Schema = { ...node };
  if (node.properties) {
    out.properties = Object.fromEntries(
      Object.entries(node.properties as Record<string, Schema>).map(([k, v]) => [k, strictCrdSchema(v)]),
    );
    if (node.additionalProperties === undefined && node['x-kubernetes-preserve-unknown-fields'] !== true) {
      out.additionalProperties = false;
    }
  }
  if (node.items) out.items = strictCrdSchema(node.items as Schema);
  if (node.additionalProperties && typeof node.additionalProperties === 'object') {
    out.additionalProperties = strictCrdSchema(node.additionalProperties as Schema);
  }
  for (const combinator of ['allOf', 'anyOf', 'oneOf'] as const) {
    if (Array.isArray(node[combinator])) out[combinator] = (node[combinator] as Schema[]).map(strictCrdSchema);
  }
  return out;
}

interface Crd {
  spec: {
    group: string;
    names: { kind: string };
    versions: { name: string; served: boolean; schema: { openAPIV3Schema: Schema } }[];
  };
}

/** The served versions of every CRD in a file (most hold one; Traefik's holds all of its kinds). */
function crdKinds(file: string): Record<string, Schema> {
  const crds = parseAllDocuments(readFileSync(join(CRDS, file), 'utf8'))
    .map((d) => d.toJS() as Crd | null)
    .filter((crd): crd is Crd => crd !== null);
  return Object.assign({}, ...crds.map(crdVersions)) as Record<string, Schema>;
}

function crdVersions(crd: Crd): Record<string, Schema> {
  const { group, names } = crd.spec;
  return Object.fromEntries(
    crd.spec.versions
      .filter((v) => v.served)
      .map((v) => {
        const schema = strictCrdSchema(v.schema.openAPIV3Schema);
        const properties = schema.properties as Record<string, Schema>;
        return [
          `${group}/${v.name}/${names.kind}`,
          {
            ...schema,
            required: [...new Set([...((schema.required as string[]) ?? []), 'apiVersion', 'kind', 'metadata'])].sort(),
            properties: {
              ...properties,
              apiVersion: { type: 'string', enum: [`${group}/${v.name}`] },
              kind: { type: 'string', enum: [names.kind] },
              // CRDs leave metadata open; the API server validates it as ObjectMeta, and so do we.
              metadata: { $ref: `#/$defs/${OBJECT_META}` },
            },
          },
        ];
      }),
  );
}

function modelKinds(): { kinds: Record<string, Schema>; defs: Record<string, Schema> } {
  const roots = Object.entries(MODEL_KINDS).flatMap(([pkg, byVersion]) =>
    Object.entries(byVersion).flatMap(([apiVersion, kinds]) =>
      kinds.map((kind) => ({ apiVersion, kind, file: join(NODE_MODULES, pkg, apiVersion, `${kind}.d.ts`) })),
    ),
  );
  const program = ts.createProgram(
    roots.map((r) => r.file),
    {
      noEmit: true,
      skipLibCheck: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      types: [],
    },
  );
  const converter = new DeclarationConverter(program);
  const kinds = Object.fromEntries(
    roots.map(({ apiVersion, kind, file }) => [`${apiVersion}/${kind}`, converter.root(file, kind)]),
  );
  // ObjectMeta under its upstream name, so CRD schemas can refer to it.
  const metaKey = Object.keys(converter.defs).find((k) => k.endsWith('apis.meta.v1.ObjectMeta'));
  if (!metaKey) throw new Error('kubernetes-models declares no ObjectMeta');
  return { kinds, defs: { ...converter.defs, [OBJECT_META]: { $ref: `#/$defs/${metaKey}` } } };
}

const sortKeys = (value: unknown): unknown =>
  Array.isArray(value)
    ? value.map(sortKeys)
    : value && typeof value === 'object'
      ? Object.fromEntries(
          Object.entries(value)
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([k, v]) => [k, sortKeys(v)]),
        )
      : value;

export function importK8s(): void {
  const models = modelKinds();
  const kinds = { ...models.kinds, ...Object.assign({}, ...Object.values(CRD_MODULES).flat().map(crdKinds)) };
  const doc = {
    $comment: 'Generated by `npm run k8s:import` (scripts/lib/k8s-import.ts); do not edit.',
    kinds,
    $defs: models.defs,
  };
  writeFileSync(join(OUTPUT, 'k8s-schemas.json'), `${JSON.stringify(sortKeys(doc))}\n`);

  const work = mkdtempSync(join(tmpdir(), 'ringforge-k8s-import-'));
  try {
    for (const [module, files] of Object.entries(CRD_MODULES)) {
      const spec = join(work, `${module}.yaml`);
      writeFileSync(spec, files.map((f) => readFileSync(join(CRDS, f), 'utf8')).join('\n---\n'));
      execFileSync(
        'npx',
        ['cdk8s', 'import', '--no-save', '--no-check-upgrade', '-l', 'typescript', '-o', OUTPUT, spec],
        {
          cwd: repoRoot,
          stdio: 'inherit',
        },
      );
      const generated = join(OUTPUT, `${module}.ts`);
      // Generated bindings are committed as cdk8s wrote them, except that types are imported as
      // types (this repo compiles with verbatimModuleSyntax) and one file-wide directive replaces
      // cdk8s' per-function ones: linters judge our code, not the generator's.
      const code = readFileSync(generated, 'utf8')
        .replace(
          "import { ApiObject, ApiObjectMetadata, GroupVersionKind } from 'cdk8s';",
          "import { ApiObject, type ApiObjectMetadata, type GroupVersionKind } from 'cdk8s';",
        )
        .replace(/^\/\* eslint-(disable|enable) .*\*\/\n/gm, '');
      writeFileSync(generated, `/* eslint-disable */\n${code}`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  execFileSync('npx', ['prettier', '--log-level', 'warn', '--write', OUTPUT], { cwd: repoRoot, stdio: 'inherit' });
}

if (import.meta.url === `file://${process.argv[1]}`) importK8s();
