/*
 * The hub's admin API as drills and load tests use it. Only fetch: the load-test runner bundled in
 * the hub image imports this, where none of the repository's tools exist.
 */

export interface Tenancy {
  readonly tenantId: string;
  readonly fleetId: string;
  /** An API key of the fleet; a secret, never printed. */
  readonly apiKey: string;
}

/** Creates a tenant with one fleet and an API key through the admin API. */
export async function provisionTenant(adminUrl: string, adminToken: string, name: string): Promise<Tenancy> {
  const post = async <T>(path: string, body: unknown): Promise<T> => {
    const response = await fetch(`${adminUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
      body: JSON.stringify(body),
    });
    if (response.status !== 201) throw new Error(`POST ${path} answered ${response.status}: ${await response.text()}`);
    return (await response.json()) as T;
  };
  const tenant = await post<{ id: string }>('/api/admin/tenants', { name });
  const fleet = await post<{ id: string }>(`/api/admin/tenants/${tenant.id}/fleets`, { name: 'drill' });
  const key = await post<{ key: string }>(`/api/admin/tenants/${tenant.id}/fleets/${fleet.id}/api-keys`, {
    label: 'drill',
  });
  return { tenantId: tenant.id, fleetId: fleet.id, apiKey: key.key };
}
