import { releasedImage } from './images.ts';
import type { EnvironmentFile } from './load.ts';

/** Tier 2: k3s on Hetzner with CloudNativePG, synced by ArgoCD from dist/k8s/staging. */
export default {
  name: 'staging',
  tier: 2,
  platform: 'hetzner',
  description: 'Staging: one k3s cluster in Nuremberg',
  dns: { zone: 'ringforge.example', hubHostname: 'hub.staging.ringforge.example' },
  regions: [{ name: 'nbg1', location: 'nbg1' }],
  adminCidrs: ['203.0.113.0/24', '2001:db8:1::/48'],
  hub: {
    // Promoted by `npm run promote` (environments/images.json): the digest a release built and signed.
    image: releasedImage('staging'),
  },
  // Archived off-site, to Falkenstein (regions[].backupLocation defaults to another location).
  backup: { bucket: 'ringforge-staging-backups' },
  state: { bucket: 'ringforge-tfstate', endpoint: 'https://fsn1.your-objectstorage.com', region: 'fsn1' },
  alerting: {
    receivers: [
      {
        name: 'team-chat',
        type: 'slack',
        webhookUrl: { secret: 'alertmanager-slack', key: 'webhook-url' },
        channel: '#ringforge-staging',
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
    routes: { critical: ['team-chat', 'ops-mail'], warning: ['team-chat'] },
  },
  gitops: { repoUrl: 'https://git.example.com/platform/ringforge-deploy.git', revision: 'main' },
} satisfies EnvironmentFile;
