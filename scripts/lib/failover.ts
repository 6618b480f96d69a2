/*
 * The pieces of `npm run failover`: which switch is asked for, the one-line edit of the environment
 * file that makes it, and the plan an operator follows once the synthesized output is committed.
 */
import { NAMESPACES } from '../../charts/clusters.ts';
import { topologyName } from '../../constructs/k8s/postgres.ts';
import { primaryRegionOf, type Environment, type HetznerEnvironment } from '../../environments/index.ts';

export interface FailoverRequest {
  readonly env: HetznerEnvironment;
  /** The primary region now. */
  readonly from: string;
  /** The region to promote. */
  readonly to: string;
}

/** Checks that `env` runs a standby region named `to`; the error names the rule broken. */
export function failoverRequest(env: Environment, to: string): FailoverRequest {
  if (env.platform !== 'hetzner' || env.regions.length < 2) {
    throw new Error(
      `environments/${env.name}.ts: failover needs a tier 3 environment with a standby region (it has ${env.platform === 'hetzner' ? `${env.regions.length} region` : 'no Hetzner regions'})`,
    );
  }
  const names = env.regions.map((r) => r.name);
  if (!names.includes(to))
    throw new Error(`--to: must be one of the regions of ${env.name} (${names.join(', ')}) (got ${to})`);
  const from = primaryRegionOf(env).name;
  if (from === to) throw new Error(`--to: ${to} is already the primary region of ${env.name}`);
  return { env, from, to };
}

const FIELD_LINE = /^(\s*primaryRegion:\s*)(['"])([a-z0-9-]+)\2(\s*,?\s*(\/\/.*)?)$/;

/**
 * `source` (an environment file) with its `primaryRegion: '<from>'` line naming `to` instead; every
 * other byte stays. Refuses a file without exactly one such line, or one naming another region.
 */
export function rewritePrimaryRegion(source: string, file: string, from: string, to: string): string {
  const lines = source.split('\n');
  const mentions = lines.flatMap((line, i) => (/^\s*primaryRegion\s*:/.test(line) ? [i] : []));
  if (mentions.length !== 1) {
    throw new Error(
      `${file}: expected exactly one line \`primaryRegion: '${from}',\` (found ${mentions.length}); add or fix it by hand, then run again`,
    );
  }
  const i = mentions[0]!;
  const match = FIELD_LINE.exec(lines[i]!);
  if (!match) {
    throw new Error(
      `${file}:${i + 1}: primaryRegion must be a quoted region name on its own line, e.g. \`primaryRegion: '${from}',\` (got \`${lines[i]!.trim()}\`)`,
    );
  }
  if (match[3] !== from) {
    throw new Error(`${file}:${i + 1}: primaryRegion names ${match[3]}, but the environment resolves to ${from}`);
  }
  lines[i] = `${match[1]}${match[2]}${to}${match[2]}${match[4]}`;
  return lines.join('\n');
}

/** What to commit, apply and check after the edit and the synth, as Markdown. */
export function failoverPlan(r: FailoverRequest, file: string, when: Date): string {
  const { env, from, to } = r;
  const data = NAMESPACES.data;
  const inRegion = (region: string, command: string) => `kubectl --context <${env.name}-${region}> ${command}`;
  const cluster = (region: string) =>
    inRegion(
      region,
      `-n ${data} get cluster pg -o jsonpath='{.spec.replica}{"\\n"}{.status.phase}{"\\n"}{.status.currentPrimary}{"\\n"}'`,
    );
  return `# Failover of ${env.name}: ${from} → ${to}

${when.toISOString()}: \`${file}\` now names \`primaryRegion: '${to}'\` and \`dist/\` is synthesized from it.
Every region's CloudNativePG Cluster now says \`replica.primary: ${topologyName(to)}\`; Cloudflare steers
every geo region to the ${env.name}-${to} pool first.

## 1. Commit and push

\`\`\`sh
git add ${file} dist/
git commit -m "${env.name}: ${to} becomes the primary region (failover from ${from})"
git push origin HEAD:${env.gitops.revision}
\`\`\`

Each region's ArgoCD syncs its own folder (\`dist/k8s/${env.name}/<region>\`) within its polling
interval; \`argocd app sync postgres\` in a region syncs it at once.

## 2. Steer traffic

\`\`\`sh
npx cdktf deploy ${env.name}-edge
\`\`\`

Until then Cloudflare already sends agents to ${to} once ${from}'s pool is unhealthy (its hubs answer
\`/api/ready\` 503 when their database is demoted or gone); the deploy makes ${to} the first choice, so a
returning ${from} does not take traffic back.

## 3. Check the database

\`\`\`sh
${cluster(to)}
${inRegion(to, `cnpg -n ${data} status pg`)}
${cluster(from)}   # if ${from} answers at all
\`\`\`

- ${to}: \`primary\` and \`self\` are \`${topologyName(to)}\`, phase \`Cluster in healthy state\`, and
  \`kubectl cnpg status\` shows a primary instance and "Working WAL archiving: OK": the new primary
  archives to its own bucket.
- ${from} (if reachable): \`primary: ${topologyName(to)}\`, \`source: ${topologyName(to)}\`; it is demoted and
  replays ${to}'s archive. If it is not reachable, fence it when it returns (runbooks/region-loss.md,
  "Fencing the old region") before anything else.

## 4. Check the hubs and the edge

\`\`\`sh
${inRegion(to, '-n ringforge get deploy hub')}
${inRegion(to, '-n ringforge port-forward svc/hub 9090')} &
curl -s http://127.0.0.1:9090/api/ready    # 200, checks.primary ok
curl -s https://${env.dns.hubHostname}/api/ready
\`\`\`

- The ${to} hubs turn Ready by themselves once their database is promoted (they migrate first).
- Cloudflare → Traffic → Load Balancing: pool \`${env.name}-${to}\` Healthy, \`${env.name}-${from}\` Unhealthy
  (its hubs are not ready while its database is gone, fenced or a replica).
- Take a base backup of the new primary: \`${inRegion(to, `cnpg -n ${data} backup pg`)}\`.
`;
}
