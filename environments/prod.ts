import { releasedImage } from './images.ts';
import type { EnvironmentFile } from './load.ts';

/** Tier 3: a k3s cluster in each of two regions, Cloudflare steering agents between them. */
export default {
  name: 'prod',
  tier: 3,
  platform: 'hetzner',
  description: 'Production: Falkenstein and Helsinki, the primary region writing, the other a CNPG replica cluster',
  dns: { zone: 'ringforge.example', hubHostname: 'hub.ringforge.example' },
  regions: [
    // Both archive to Nuremberg: losing either region leaves its archive, and the other's, readable.
    {
      name: 'fsn1',
      location: 'fsn1',
      backupLocation: 'nbg1',
      servesGeoRegions: ['WEU', 'EEU', 'NAF', 'ME', 'WNAM', 'ENAM'],
    },
    { name: 'hel1', location: 'hel1', backupLocation: 'nbg1' },
  ],
  // The writer. The other region runs a replica cluster and takes traffic only once promoted; the geo
  // regions listed above follow whichever region this names. `npm run failover -- prod --to hel1` rewrites it.
  primaryRegion: 'fsn1',
  servers: { worker: { type: 'cpx52', count: 4 } },
  adminCidrs: ['203.0.113.0/24', '2001:db8:1::/48'],
  hub: {
    // Promoted by `npm run promote` (environments/images.json): the digest a release built and signed.
    image: releasedImage('prod'),
    replicas: { min: 4, max: 20 },
  },
  backup: { bucket: 'ringforge-prod-backups', retentionDays: 35 },
  slo: { concurrentAgents: 50000 },
  // Real agents share production: a load test of it must be confirmed with --yes.
  loadtest: { confirm: true },
  state: { bucket: 'ringforge-tfstate', endpoint: 'https://fsn1.your-objectstorage.com', region: 'fsn1' },
  // Critical alerts page the on-call engineer; everything also reaches the team channel.
  alerting: {
    receivers: [
      { name: 'oncall', type: 'pagerduty', routingKey: { secret: 'alertmanager-pagerduty', key: 'routing-key' } },
      {
        name: 'team-chat',
        type: 'slack',
        webhookUrl: { secret: 'alertmanager-slack', key: 'webhook-url' },
        channel: '#ringforge-prod',
      },
      {
        name: 'ops-mail',
        type: 'email',
        to: 'ops@ringforge.example',
        from: 'alertmanager@ringforge.example',
        smarthost: 'smtp.ringforge.example:587',
        username: 'alertmanager',
        password: { secret: 'alertmanager-smtp', key: 'password' },
      },
    ],
    routes: { critical: ['oncall', 'team-chat'], warning: ['team-chat', 'ops-mail'] },
  },
  gitops: { repoUrl: 'https://git.example.com/platform/ringforge-deploy.git', revision: 'release' },
} satisfies EnvironmentFile;
