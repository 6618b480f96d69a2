import type { EnvironmentFile } from './load.ts';

/** Tier 3: a k3s cluster in each of two regions, Cloudflare steering agents between them. */
export default {
  name: 'prod',
  tier: 3,
  platform: 'hetzner',
  description: 'Production: Falkenstein primary, Helsinki secondary with a CNPG replica cluster',
  dns: { zone: 'ringforge.example', hubHostname: 'hub.ringforge.example' },
  regions: [
    { name: 'fsn1', location: 'fsn1', servesGeoRegions: ['WEU', 'EEU', 'NAF', 'ME', 'WNAM', 'ENAM'] },
    // Standby: its database is a replica of fsn1's, so it takes traffic only on failover.
    { name: 'hel1', location: 'hel1' },
  ],
  servers: { worker: { type: 'cpx52', count: 4 } },
  adminCidrs: ['203.0.113.0/24', '2001:db8:1::/48'],
  hub: {
    image: {
      repository: 'ghcr.io/ringforge/hub',
      digest: 'sha256:6f1c0b6d0f8a2a4b5f3c9e1d7a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e2f4a6b',
    },
    replicas: { min: 4, max: 20 },
  },
  backup: { bucket: 'ringforge-prod-backups', retentionDays: 35 },
  slo: { concurrentAgents: 50000 },
  // Real agents share production: a load test of it must be confirmed with --yes.
  loadtest: { confirm: true },
  state: { bucket: 'ringforge-tfstate', endpoint: 'https://fsn1.your-objectstorage.com', region: 'fsn1' },
  gitops: { repoUrl: 'https://git.example.com/platform/ringforge-deploy.git', revision: 'release' },
} satisfies EnvironmentFile;
