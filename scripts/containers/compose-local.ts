/*
 * Runs tier 0's compose file as cloud-init installs it, on a machine that is not a tier 0 server:
 * the rendered dist/compose/<env>/compose.yaml with only these substitutions, each listed in the
 * result so the check can report them:
 *   - images: local images for the public ones (no registry is reachable);
 *   - host paths: a scratch directory for /etc/ringforge and /mnt/data;
 *   - published ports: free loopback ports for the host side (80/443/5432 may be taken, and nothing
 *     here may listen beyond 127.0.0.1).
 * Everything else (commands, users, read-only roots, tmpfs, secrets, health checks) is the file's own.
 * An override file cannot do this with podman-compose 1.0.3, which appends lists (ports, env_file)
 * instead of replacing them. The file is read as YAML 1.2 (as docker compose reads it) and written
 * as YAML 1.1, because podman-compose's PyYAML would otherwise read the valkey arguments `yes` and
 * `no` as booleans and pass `True`/`False`.
 */
import { parse, stringify } from 'yaml';

export interface LocalizeOptions {
  /** Image per service name, e.g. `{ postgres: 'localhost/ringforge/postgres:15-bookworm' }`. */
  readonly images: Readonly<Record<string, string>>;
  /** Host directory per absolute host path prefix, e.g. `{ '/etc/ringforge': '/tmp/x/etc' }`. */
  readonly hostPaths: Readonly<Record<string, string>>;
  /** Loopback host port per `service:containerPort`, e.g. `{ 'proxy:8443': 41234 }`. */
  readonly ports: Readonly<Record<string, number>>;
}

export interface Substitution {
  readonly path: string;
  readonly from: string;
  readonly to: string;
}

export interface LocalizedCompose {
  readonly yaml: string;
  readonly substitutions: readonly Substitution[];
}

interface Service {
  image?: string;
  ports?: string[];
  volumes?: string[];
  env_file?: string[];
}

interface ComposeFile {
  services: Record<string, Service>;
  secrets?: Record<string, { file?: string }>;
}

export function localizeCompose(source: string, options: LocalizeOptions): LocalizedCompose {
  const compose = parse(source) as ComposeFile;
  const substitutions: Substitution[] = [];
  const record = (path: string, from: string, to: string): string => {
    if (from !== to) substitutions.push({ path, from, to });
    return to;
  };
  const hostPath = (path: string): string => {
    const prefix = Object.keys(options.hostPaths).find((p) => path === p || path.startsWith(`${p}/`));
    return prefix === undefined ? path : `${options.hostPaths[prefix]}${path.slice(prefix.length)}`;
  };
  const usedImages = new Set<string>();
  const usedPorts = new Set<string>();

  for (const [name, service] of Object.entries(compose.services)) {
    const at = `services.${name}`;
    const image = options.images[name];
    if (image !== undefined && service.image !== undefined) {
      service.image = record(`${at}.image`, service.image, image);
      usedImages.add(name);
    }
    service.volumes = service.volumes?.map((volume, i) => {
      const [host, ...rest] = volume.split(':');
      return record(`${at}.volumes.${i}`, volume, [hostPath(host!), ...rest].join(':'));
    });
    service.env_file = service.env_file?.map((file, i) => record(`${at}.env_file.${i}`, file, hostPath(file)));
    service.ports = service.ports?.map((port, i) => {
      const containerPort = port.split(':').at(-1)!;
      const key = `${name}:${containerPort}`;
      const hostPort = options.ports[key];
      if (hostPort === undefined) {
        throw new Error(`${at}.ports.${i} publishes ${port}: give a loopback port for ${key}`);
      }
      usedPorts.add(key);
      return record(`${at}.ports.${i}`, port, `127.0.0.1:${hostPort}:${containerPort}`);
    });
  }
  for (const [name, secret] of Object.entries(compose.secrets ?? {})) {
    if (secret.file !== undefined) secret.file = record(`secrets.${name}.file`, secret.file, hostPath(secret.file));
  }

  const unusedImages = Object.keys(options.images).filter((s) => !usedImages.has(s));
  if (unusedImages.length > 0) throw new Error(`no service to give an image: ${unusedImages.join(', ')}`);
  const unusedPorts = Object.keys(options.ports).filter((p) => !usedPorts.has(p));
  if (unusedPorts.length > 0) throw new Error(`no published port ${unusedPorts.join(', ')} in the compose file`);
  const leftovers = substitutions.length === 0 ? [] : findHostPaths(compose, Object.keys(options.hostPaths));
  if (leftovers.length > 0) throw new Error(`host paths left unsubstituted: ${leftovers.join(', ')}`);
  return { yaml: stringify(compose, { version: '1.1', lineWidth: 0 }), substitutions };
}

/** Every string in the document that still names one of the host path prefixes. */
function findHostPaths(value: unknown, prefixes: readonly string[]): string[] {
  if (typeof value === 'string') return prefixes.some((p) => value.includes(`${p}/`)) ? [value] : [];
  if (Array.isArray(value)) return value.flatMap((v) => findHostPaths(v, prefixes));
  if (typeof value === 'object' && value !== null)
    return Object.values(value).flatMap((v) => findHostPaths(v, prefixes));
  return [];
}
