/** Labels every resource carries, so an operator (or a teardown check) can find all of one environment. */
export interface ResourceLabels {
  readonly environment: string;
  readonly tier: number;
  readonly role: string;
}

/** Hetzner label map; keys and values follow Hetzner's label syntax. */
export function hetznerLabels(labels: ResourceLabels): Record<string, string> {
  return {
    'ringforge/environment': labels.environment,
    'ringforge/tier': String(labels.tier),
    'ringforge/role': labels.role,
    'ringforge/managed-by': 'cdktf',
  };
}

/** Label selector matching every server of one role in one environment. */
export const roleSelector = (labels: ResourceLabels): string =>
  `ringforge/environment=${labels.environment},ringforge/role=${labels.role}`;
