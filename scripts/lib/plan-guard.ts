/*
 * Reads the JSON form of a plan (`tofu show -json plan.out`) and finds changes that would destroy
 * or replace stateful infrastructure. A replaced server loses its local state and its addresses;
 * a replaced volume or load balancer loses data or the address DNS points at.
 */

/** Resource types whose destruction must be allowed explicitly. */
export const GUARDED_TYPES = ['hcloud_server', 'hcloud_volume', 'hcloud_load_balancer', 'hcloud_primary_ip'] as const;

export interface Destruction {
  readonly address: string;
  readonly type: string;
  /** `delete`, or `replace` when the resource is deleted and created again. */
  readonly kind: 'delete' | 'replace';
  /** Why Terraform replaces it, when the plan says (e.g. `replace_because_cannot_update`). */
  readonly reason?: string;
}

interface PlanJson {
  readonly format_version?: string;
  readonly resource_changes?: readonly {
    readonly address: string;
    readonly type: string;
    readonly action_reason?: string;
    readonly change: { readonly actions: readonly string[] };
  }[];
}

export function findDestructions(plan: unknown, guardedTypes: readonly string[] = GUARDED_TYPES): Destruction[] {
  const p = plan as PlanJson;
  if (typeof p !== 'object' || p === null || !('format_version' in p)) {
    throw new Error(
      'not a plan in JSON form: expected the output of `tofu show -json <planfile>` (format_version missing)',
    );
  }
  return (p.resource_changes ?? [])
    .filter((c) => guardedTypes.includes(c.type) && c.change.actions.includes('delete'))
    .map((c) => ({
      address: c.address,
      type: c.type,
      kind: c.change.actions.includes('create') ? ('replace' as const) : ('delete' as const),
      ...(c.action_reason ? { reason: c.action_reason } : {}),
    }));
}

/** Destructions not covered by an explicit allowance (exact resource addresses). */
export const unallowed = (found: readonly Destruction[], allowed: readonly string[]): Destruction[] =>
  found.filter((d) => !allowed.includes(d.address));
