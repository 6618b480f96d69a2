import type { IApplication } from '@kubernetes-models/argo-cd/argoproj.io/v1alpha1/Application';
import type { IApplicationSource } from '@kubernetes-models/argo-cd/argoproj.io/v1alpha1/ApplicationSource';
import type { IResourceIgnoreDifferences } from '@kubernetes-models/argo-cd/argoproj.io/v1alpha1/ResourceIgnoreDifferences';
import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';

/** Where an Application's manifests come from: a folder of this repository, or a pinned Helm chart. */
export class AppSource {
  /** Plain YAML in `path` of a git repository, at `revision`. */
  static directory(repoUrl: string, revision: string, path: string): AppSource {
    if (path.startsWith('/') || path.includes('..')) throw new Error(`path must be relative to the repo (got ${path})`);
    return new AppSource({ repoURL: repoUrl, targetRevision: revision, path, directory: { recurse: false } });
  }

  /** A Helm chart at an exact version; ranges would let an operator upgrade without a commit. */
  static helmChart(props: {
    readonly repoUrl: string;
    readonly chart: string;
    readonly version: string;
    readonly releaseName?: string;
    readonly values?: Record<string, unknown>;
  }): AppSource {
    if (!/^v?\d+\.\d+\.\d+([-+][\w.]+)?$/.test(props.version)) {
      throw new Error(`chart ${props.chart} must be pinned to an exact version (got ${props.version})`);
    }
    return new AppSource({
      repoURL: props.repoUrl,
      chart: props.chart,
      targetRevision: props.version,
      helm: {
        releaseName: props.releaseName ?? props.chart,
        ...(props.values ? { valuesObject: props.values } : {}),
      },
    });
  }

  private constructor(readonly spec: IApplicationSource) {}

  /** The repository folder this source reads, if it is one. */
  get path(): string | undefined {
    return this.spec.path;
  }
}

export interface ArgoApplicationProps {
  /** Application name, unique in the `argocd` namespace of the cluster. */
  readonly name: string;
  readonly source: AppSource;
  /** Namespace the resources go to when they name none. */
  readonly destinationNamespace: string;
  /** Sync wave: lower waves are synced (and healthy) before higher ones start. @default 0 */
  readonly syncWave?: number;
  /** Fields ArgoCD must not treat as drift, e.g. replicas an autoscaler owns. @default [] */
  readonly ignoreDifferences?: readonly IResourceIgnoreDifferences[];
  /** Extra `syncOptions`. @default [] */
  readonly syncOptions?: readonly string[];
  /**
   * The Application syncs data (a database, volumes): it never prunes and carries no resources
   * finalizer, so neither a render that drops an object nor deleting the Application removes data.
   * @default false
   */
  readonly ownsData?: boolean;
}

/** Namespace ArgoCD runs in; Applications must live there. */
export const ARGOCD_NAMESPACE = 'argocd';

/** Finalizer that makes deleting an Application delete every resource it synced. */
export const RESOURCES_FINALIZER = 'resources-finalizer.argocd.argoproj.io';

/**
 * An ArgoCD Application with automated sync and self-heal and retries with backoff. Unless it owns
 * data, it also prunes and carries the finalizer that removes its resources with it.
 */
export class ArgoApplication extends Construct {
  readonly name: string;
  readonly source: AppSource;
  readonly syncWave: number;

  constructor(scope: Construct, id: string, props: ArgoApplicationProps) {
    super(scope, id);
    this.name = props.name;
    this.source = props.source;
    this.syncWave = props.syncWave ?? 0;
    const ignoreDifferences = props.ignoreDifferences ?? [];
    const ignoring = ignoreDifferences.length > 0;
    const manifest: IApplication = {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Application',
      metadata: {
        name: props.name,
        namespace: ARGOCD_NAMESPACE,
        annotations: { 'argocd.argoproj.io/sync-wave': String(this.syncWave) },
        ...(props.ownsData ? {} : { finalizers: [RESOURCES_FINALIZER] }),
      },
      spec: {
        project: 'default',
        source: props.source.spec,
        destination: { server: 'https://kubernetes.default.svc', namespace: props.destinationNamespace },
        syncPolicy: {
          automated: { prune: !props.ownsData, selfHeal: true },
          retry: { limit: 5, backoff: { duration: '10s', factor: 2, maxDuration: '3m' } },
          syncOptions: [
            'CreateNamespace=true',
            'ServerSideApply=true',
            // Without this, ignoreDifferences only hides drift in the diff and a sync still resets it.
            ...(ignoring ? ['RespectIgnoreDifferences=true'] : []),
            ...(props.syncOptions ?? []),
          ],
        },
        ...(ignoring ? { ignoreDifferences: [...ignoreDifferences] } : {}),
      },
    };
    new ApiObject(this, 'Resource', manifest);
  }
}
