import { k8s } from 'cdk8s-plus-28';

/*
 * The Pod Security `restricted` profile plus the hardening kube-score and Polaris look for, for the
 * workloads written with the low-level bindings (the hub gets the same from cdk8s-plus).
 */

export const restrictedContainer = (uid: number): k8s.SecurityContext => ({
  runAsNonRoot: true,
  runAsUser: uid,
  runAsGroup: uid,
  privileged: false,
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
});

export const restrictedPod = (uid: number): k8s.PodSecurityContext => ({
  runAsNonRoot: true,
  runAsUser: uid,
  runAsGroup: uid,
  fsGroup: uid,
  seccompProfile: { type: 'RuntimeDefault' },
});

/** Requests and limits in the units Kubernetes expects. */
export function resources(p: {
  readonly cpuMillis: number;
  readonly memoryMiB: number;
  readonly limitCpuMillis: number;
  readonly limitMemoryMiB: number;
  readonly ephemeralMiB?: number;
}): k8s.ResourceRequirements {
  const eph = p.ephemeralMiB ?? 256;
  return {
    requests: {
      cpu: k8s.Quantity.fromString(`${p.cpuMillis}m`),
      memory: k8s.Quantity.fromString(`${p.memoryMiB}Mi`),
      'ephemeral-storage': k8s.Quantity.fromString(`${eph}Mi`),
    },
    limits: {
      cpu: k8s.Quantity.fromString(`${p.limitCpuMillis}m`),
      memory: k8s.Quantity.fromString(`${p.limitMemoryMiB}Mi`),
      'ephemeral-storage': k8s.Quantity.fromString(`${eph * 4}Mi`),
    },
  };
}
