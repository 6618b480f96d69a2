import { parse } from 'yaml';
import { blocks, type TerraformJson } from '../../scripts/lib/terraform-json.ts';

/*
 * The Hetzner and Cloudflare checks of shared/POLICY.md. No scanner has rules for these
 * providers, so they are ours, run on the synthesized JSON (what `cdktf deploy` will apply,
 * overrides included) by `npm run synth` and by the tests.
 */

export interface Violation {
  readonly rule: string;
  readonly stack: string;
  readonly address: string;
  readonly message: string;
}

// Synthesized JSON is checked field by field where it is read.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Body = Record<string, any>;
type Check = (stack: string, doc: TerraformJson) => Violation[];

const WORLD = new Set(['0.0.0.0/0', '::/0']);
const ADMIN_ONLY_PORTS = new Set(['22', '6443']);
const SECRET_NAME = /token|secret|password|private|credential/i;
const EXACT_VERSION = /^=?\s*\d+\.\d+\.\d+$/;

const resources = (doc: TerraformJson, type: string) =>
  blocks(doc).filter((b) => b.type === type) as { type: string; name: string; body: Body }[];
const addr = (type: string, name: string) => `${type}.${name}`;

/** Does a port rule (single port or `from-to` range) cover the port? */
function covers(rulePort: string | undefined, port: string): boolean {
  if (!rulePort) return true;
  const [from, to] = rulePort.split('-').map(Number);
  return Number(port) >= from! && Number(port) <= (to ?? from)!;
}

const noWorldAdminPorts: Check = (stack, doc) =>
  resources(doc, 'hcloud_firewall').flatMap(({ name, body }) =>
    ((body.rule ?? []) as Body[])
      .filter(
        (r) => r.direction === 'in' && Array.isArray(r.source_ips) && r.source_ips.some((s: string) => WORLD.has(s)),
      )
      .flatMap((r) =>
        [...ADMIN_ONLY_PORTS]
          .filter((p) => r.protocol === 'tcp' && covers(r.port, p))
          .map((p) => ({
            rule: 'HC-1',
            stack,
            address: addr('hcloud_firewall', name),
            message: `port ${p} is open to the whole internet; admit admin networks only`,
          })),
      ),
  );

function selectorMatches(selector: string, labels: Record<string, string>): boolean {
  return selector.split(',').every((term) => {
    const [key, value] = term.split('=');
    return value === undefined ? key! in labels : labels[key!] === value;
  });
}

const everyServerHasFirewall: Check = (stack, doc) => {
  const selectors = resources(doc, 'hcloud_firewall').flatMap(({ body }) =>
    ((body.apply_to ?? []) as Body[])
      .map((a) => a.label_selector as string | undefined)
      .filter((s): s is string => !!s),
  );
  return resources(doc, 'hcloud_server')
    .filter(
      ({ body }) => !(body.firewall_ids?.length > 0) && !selectors.some((s) => selectorMatches(s, body.labels ?? {})),
    )
    .map(({ name }) => ({
      rule: 'HC-2',
      stack,
      address: addr('hcloud_server', name),
      message: 'no firewall applies to this server (neither firewall_ids nor a label selector)',
    }));
};

const serversKeyedWithoutPasswords: Check = (stack, doc) =>
  resources(doc, 'hcloud_server').flatMap(({ name, body }) => {
    const found: Violation[] = [];
    const at = addr('hcloud_server', name);
    if (!(body.ssh_keys?.length > 0))
      found.push({ rule: 'HC-3', stack, address: at, message: 'server has no SSH keys' });
    const userData = typeof body.user_data === 'string' ? body.user_data : '';
    let pwauth: unknown;
    try {
      pwauth = userData.startsWith('#cloud-config') ? (parse(userData) as Body | null)?.ssh_pwauth : undefined;
    } catch {
      pwauth = undefined;
    }
    if (pwauth !== false) {
      found.push({
        rule: 'HC-3',
        stack,
        address: at,
        message: 'cloud-init does not disable SSH password logins (ssh_pwauth: false)',
      });
    }
    return found;
  });

const noPlainHttpOnLoadBalancers: Check = (stack, doc) =>
  resources(doc, 'hcloud_load_balancer_service')
    .filter(({ body }) => body.protocol === 'http' || (body.protocol === 'tcp' && Number(body.listen_port) === 80))
    .map(({ name, body }) => ({
      rule: 'HC-4',
      stack,
      address: addr('hcloud_load_balancer_service', name),
      message: `serves plain ${body.protocol} on ${body.listen_port ?? 80}; pass TLS through on 443 (tcp) instead`,
    }));

const REQUIRED_ZONE_SETTINGS: Record<string, string> = {
  ssl: 'strict',
  min_tls_version: '1.2',
  always_use_https: 'on',
};

const zoneTlsAndOriginFirewall: Check = (stack, doc) => {
  const found: Violation[] = [];
  const servesHostnames =
    resources(doc, 'cloudflare_dns_record').length + resources(doc, 'cloudflare_load_balancer').length > 0;
  if (servesHostnames) {
    const settings = Object.fromEntries(
      resources(doc, 'cloudflare_zone_setting').map(({ body }) => [body.setting_id, body.value]),
    );
    for (const [id, want] of Object.entries(REQUIRED_ZONE_SETTINGS)) {
      if (settings[id] !== want) {
        found.push({
          rule: 'HC-5',
          stack,
          address: `cloudflare_zone_setting.${id}`,
          message: `zone setting ${id} must be "${want}" (got ${JSON.stringify(settings[id])})`,
        });
      }
    }
  }
  for (const { name, body } of resources(doc, 'hcloud_firewall')) {
    for (const rule of (body.rule ?? []) as Body[]) {
      const web = rule.direction === 'in' && rule.protocol === 'tcp' && ['80', '443'].some((p) => covers(rule.port, p));
      if (web && !String(rule.source_ips).includes('data.cloudflare_ip_ranges.')) {
        found.push({
          rule: 'HC-5',
          stack,
          address: addr('hcloud_firewall', name),
          message: `web port ${rule.port} admits sources other than Cloudflare's ranges`,
        });
      }
    }
  }
  return found;
};

/** Paths of the hub that only its operations listener serves: never public at the edge. */
const PRIVATE_PATHS = [/^\/metrics/, /^\/api\/admin/];
const ALLOWLIST = /^\(not http\.request\.uri\.path in \{((?: ?"[^"]*")+)\}\)$/;

/**
 * An edge that proxies hostnames locks the origin to Cloudflare (Authenticated Origin Pulls on:
 * the origin refuses clients without Cloudflare's certificate) and lets only public paths through:
 * a custom rule blocks every path outside an allowlist that holds no private path. A Hetzner load
 * balancer that terminates TLS cannot ask for that certificate, so its services pass TLS through.
 */
const originOnlyThroughCloudflare: Check = (stack, doc) => {
  const found: Violation[] = resources(doc, 'hcloud_load_balancer_service')
    .filter(({ body }) => body.protocol === 'https')
    .map(({ name }) => ({
      rule: 'HC-8',
      stack,
      address: addr('hcloud_load_balancer_service', name),
      message:
        "terminates TLS on the load balancer, which cannot require Cloudflare's origin-pull certificate: pass TCP 443 through to a proxy that does",
    }));
  const servesHostnames =
    resources(doc, 'cloudflare_dns_record').length + resources(doc, 'cloudflare_load_balancer').length > 0;
  if (!servesHostnames) return found;
  if (!resources(doc, 'cloudflare_authenticated_origin_pulls_settings').some(({ body }) => body.enabled === true)) {
    found.push({
      rule: 'HC-8',
      stack,
      address: 'cloudflare_authenticated_origin_pulls_settings',
      message: 'Authenticated Origin Pulls must be enabled: without them anyone who finds the origin skips the WAF',
    });
  }
  const custom = resources(doc, 'cloudflare_ruleset').filter(
    ({ body }) => body.phase === 'http_request_firewall_custom',
  );
  const allowlists = custom.flatMap(({ name, body }) =>
    ((body.rules ?? []) as Body[])
      .filter((r) => r.action === 'block')
      .flatMap((r) => {
        const m = ALLOWLIST.exec(String(r.expression));
        return m ? [{ name, paths: [...m[1]!.matchAll(/"([^"]*)"/g)].map((x) => x[1]!) }] : [];
      }),
  );
  if (allowlists.length === 0) {
    found.push({
      rule: 'HC-8',
      stack,
      address: 'cloudflare_ruleset',
      message: 'no custom rule blocks the paths outside the public allowlist ((not http.request.uri.path in {...}))',
    });
  }
  for (const { name, paths } of allowlists) {
    for (const path of paths.filter((p) => PRIVATE_PATHS.some((re) => re.test(p)))) {
      found.push({
        rule: 'HC-8',
        stack,
        address: addr('cloudflare_ruleset', name),
        message: `the public allowlist lets the private path ${path} through`,
      });
    }
  }
  return found;
};

const secretsAndState: Check = (stack, doc) => {
  const found: Violation[] = [];
  for (const [name, variable] of Object.entries((doc as Body).variable ?? {}) as [string, Body][]) {
    if (SECRET_NAME.test(name) && variable.sensitive !== true) {
      found.push({
        rule: 'HC-6',
        stack,
        address: `var.${name}`,
        message: 'variable looks secret but is not marked sensitive',
      });
    }
  }
  const sensitiveVars = Object.entries((doc as Body).variable ?? {})
    .filter(([, v]) => (v as Body).sensitive === true)
    .map(([n]) => n);
  for (const [name, output] of Object.entries(doc.output ?? {})) {
    const value = JSON.stringify(output.value);
    if (
      (SECRET_NAME.test(name) || sensitiveVars.some((v) => value.includes(`var.${v}`))) &&
      output.sensitive !== true
    ) {
      found.push({
        rule: 'HC-6',
        stack,
        address: `output.${name}`,
        message: 'output carries a secret but is not marked sensitive',
      });
    }
  }
  const backend = (doc.terraform as Body | undefined)?.backend ?? {};
  const s3 = backend.s3 as Body | undefined;
  if (!s3)
    found.push({
      rule: 'HC-6',
      stack,
      address: 'terraform.backend',
      message: `state must live in the encrypted S3 backend (got ${Object.keys(backend).join(', ') || 'local'})`,
    });
  else {
    if (s3.encrypt !== true)
      found.push({
        rule: 'HC-6',
        stack,
        address: 'terraform.backend.s3',
        message: 'state is not encrypted (encrypt: true)',
      });
    if (s3.use_lockfile !== true)
      found.push({
        rule: 'HC-6',
        stack,
        address: 'terraform.backend.s3',
        message: 'state has no locking (use_lockfile: true)',
      });
  }
  return found;
};

const providersPinned: Check = (stack, doc) =>
  Object.entries(((doc.terraform as Body | undefined)?.required_providers ?? {}) as Record<string, Body>)
    .filter(([, p]) => !EXACT_VERSION.test(String(p.version ?? '')))
    .map(([name, p]) => ({
      rule: 'HC-7',
      stack,
      address: `terraform.required_providers.${name}`,
      message: `provider version must be pinned exactly (got ${JSON.stringify(p.version ?? null)})`,
    }));

export const TERRAFORM_CHECKS: Readonly<Record<string, Check>> = {
  'HC-1 no SSH or Kubernetes API from the world': noWorldAdminPorts,
  'HC-2 every server has a firewall': everyServerHasFirewall,
  'HC-3 SSH keys, no password logins': serversKeyedWithoutPasswords,
  'HC-4 no plain HTTP on load balancers': noPlainHttpOnLoadBalancers,
  'HC-5 strict zone TLS, web only from Cloudflare': zoneTlsAndOriginFirewall,
  'HC-6 secrets sensitive, state encrypted and locked': secretsAndState,
  'HC-7 provider versions pinned': providersPinned,
  'HC-8 origin only through Cloudflare, only public paths at the edge': originOnlyThroughCloudflare,
};

/** Runs every check over every stack. */
export function checkTerraformPolicy(stacks: Readonly<Record<string, TerraformJson>>): Violation[] {
  return Object.entries(stacks).flatMap(([stack, doc]) =>
    Object.values(TERRAFORM_CHECKS).flatMap((check) => check(stack, doc)),
  );
}
