import type { EnvironmentFile } from './load.ts';

/** The hub and its data services on this machine's loopback: load tests and drills run here. */
export default {
  name: 'local',
  tier: 0,
  platform: 'laptop',
  description: 'Laptop: two hub processes on real Postgres and Redis on loopback',
  hub: {
    // Built from src/hub by the container tests; the digest is recorded when an image is published.
    image: {
      repository: 'localhost/ringforge/hub',
      digest: 'sha256:0000000000000000000000000000000000000000000000000000000000000000',
    },
    replicas: { min: 2, max: 2 },
  },
  backup: {
    bucket: 'ringforge-local-backups',
    endpoint: 'http://127.0.0.1:7070',
    region: 'local',
    schedule: '*/15 * * * *',
    // Drills on a laptop hold the same 60 s RPO as the deployed tiers.
    archiveTimeoutSeconds: 60,
  },
  drill: { rpoSeconds: 60, rtoSeconds: 300 },
} satisfies EnvironmentFile;
