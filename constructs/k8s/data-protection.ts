import { ApiObject } from 'cdk8s';
import type { IConstruct } from 'constructs';

/**
 * ArgoCD sync options that keep an object when it disappears from the render (no prune) and when its
 * Application is deleted (no delete): losing a database to a bad render or a deleted Application is
 * the failure GitOps must never cause.
 */
export const SYNC_OPTIONS_ANNOTATION = 'argocd.argoproj.io/sync-options';
export const KEEP_DATA_SYNC_OPTIONS = 'Prune=false,Delete=false';

interface VolumeOwnerView {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly spec?: { readonly volumeClaimTemplates?: readonly unknown[] };
}

/**
 * Whether an object holds data on volumes: a CloudNativePG Cluster, a StatefulSet with volume claim
 * templates, or a PersistentVolumeClaim.
 */
export function ownsVolumes(o: VolumeOwnerView): boolean {
  if (o.kind === 'Cluster' && o.apiVersion?.startsWith('postgresql.cnpg.io/')) return true;
  if (o.kind === 'StatefulSet') return (o.spec?.volumeClaimTemplates ?? []).length > 0;
  return o.kind === 'PersistentVolumeClaim';
}

/** Marks every volume-owning object under `scope` `Prune=false,Delete=false`; true if there was one. */
export function protectData(scope: IConstruct): boolean {
  const owners = scope.node
    .findAll()
    .filter((c): c is ApiObject => c instanceof ApiObject && ownsVolumes(c.toJson() as VolumeOwnerView));
  for (const o of owners) o.metadata.addAnnotation(SYNC_OPTIONS_ANNOTATION, KEEP_DATA_SYNC_OPTIONS);
  return owners.length > 0;
}
