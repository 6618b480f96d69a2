import { toolVersions } from '../scripts/lib/tools.ts';

/*
 * One Postgres major for every tier, read from scripts/toolchain.env (LOCAL_POSTGRES_MAJOR), which
 * the local images, the drills and the tests use too. It is 15 because Debian bookworm ships 15: the
 * tier 1 servers, the local images and every drill install Postgres from Debian's packages (PGDG's
 * repository is not reachable from where the kit builds), and a physical backup, which every restore
 * and tier migration uses, restores only into the same major. 15 is supported upstream until
 * November 2027; moving to a newer major is the runbooks/tier-migration.md procedure.
 */
const major = Number(toolVersions.LOCAL_POSTGRES_MAJOR);
if (!Number.isInteger(major) || major < 13) {
  throw new Error(`scripts/toolchain.env: LOCAL_POSTGRES_MAJOR must be a Postgres major version (got ${major})`);
}
export const POSTGRES_MAJOR = major;

/** Minor release of the public images (CloudNativePG's and the tier 0 compose image). */
export const POSTGRES_MINOR = 20;

/** CloudNativePG's operand image, pinned to an exact release; promote it by changing this line. */
export const CNPG_IMAGE = `ghcr.io/cloudnative-pg/postgresql:${POSTGRES_MAJOR}.${POSTGRES_MINOR}`;

/** The official image tier 0 runs under compose (bookworm, as the local images). */
export const COMPOSE_POSTGRES_IMAGE = `docker.io/library/postgres:${POSTGRES_MAJOR}.${POSTGRES_MINOR}-bookworm`;

/** Where Debian's `postgresql-<major>` keeps its configuration and data (tier 1 servers). */
export const debianPostgresPaths = {
  config: `/etc/postgresql/${POSTGRES_MAJOR}/main`,
  data: `/var/lib/postgresql/${POSTGRES_MAJOR}/main`,
};
