import { releasedImage } from './images.ts';
import type { EnvironmentFile } from './load.ts';

/** Tier 0: one server running the hub, Postgres, Valkey and a TLS proxy under docker compose. */
export default {
  name: 'dev',
  tier: 0,
  platform: 'hetzner',
  description: 'Development: a single Hetzner server behind Cloudflare',
  dns: { zone: 'ringforge.example', hubHostname: 'hub.dev.ringforge.example' },
  regions: [{ name: 'fsn1', location: 'fsn1' }],
  adminCidrs: ['203.0.113.0/24', '2001:db8:1::/48'],
  hub: {
    // What `npm run release` pushed and signed (environments/images.json); promotion copies it onwards.
    image: releasedImage('dev'),
  },
  backup: { bucket: 'ringforge-dev-backups' },
  state: { bucket: 'ringforge-tfstate', endpoint: 'https://fsn1.your-objectstorage.com', region: 'fsn1' },
  // Development pages no one: every alert goes to the team channel.
  alerting: {
    receivers: [
      {
        name: 'team-chat',
        type: 'slack',
        webhookUrl: { secret: 'alertmanager-slack', key: 'webhook-url' },
        channel: '#ringforge-dev',
      },
    ],
    routes: { critical: ['team-chat'], warning: ['team-chat'] },
  },
  gitops: { repoUrl: 'https://git.example.com/platform/ringforge-deploy.git', revision: 'main' },
} satisfies EnvironmentFile;
