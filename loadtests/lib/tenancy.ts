/** Tenants a scenario provisions for itself through the hub's admin API, as an operator would. */
import { provisionTenant, type Tenancy } from '../../runbooks/lib/admin-api.ts';
import { withTimeout } from './bounded.ts';
import type { Target } from './stack.ts';

const PROVISION_TIMEOUT_MS = 15_000;

export interface OwnTenancy extends Tenancy {
  /** The same target with this tenancy's API key: its agents see only each other. */
  readonly target: Target;
}

/** A tenant named `name` with one fleet and an API key, created through the first hub's admin listener. */
export async function provisionOwnTenant(target: Target, name: string): Promise<OwnTenancy> {
  const adminUrl = target.adminUrls[0];
  if (adminUrl === undefined) throw new Error(`provisioning tenant ${name}: the target has no admin API`);
  const tenancy = await withTimeout(
    provisionTenant(adminUrl, target.adminToken, name),
    PROVISION_TIMEOUT_MS,
    `provisioning tenant ${name}`,
  );
  return { ...tenancy, target: { ...target, apiKey: tenancy.apiKey } };
}
