/*
 * The shell scripts the Valkey pods and the snapshot job run, mounted from a ConfigMap. The password
 * is read from the mounted Secret file into a config file (mode 0600) or into REDISCLI_AUTH, which
 * valkey-cli reads from its environment: it is never an argument, so no process listing shows it.
 * Kept free of bashisms: the upstream images run them with sh.
 */

/** Where the pods mount the password file, the scripts and the generated configuration. */
export const VALKEY_PATHS = {
  password: '/run/secrets/valkey/password',
  scripts: '/scripts',
  config: '/etc/valkey',
  backup: '/backup',
  /** The persistent volume: the server's AOF, and the sentinel's own state, which outlives the pod. */
  data: '/data',
} as const;

const auth = `REDISCLI_AUTH=$(cat "${VALKEY_PATHS.password}")
export REDISCLI_AUTH`;

/**
 * Writes valkey.conf and sentinel.conf before the servers start. The primary is whichever the
 * sentinels name now (after a failover it is no longer pod 0). When no sentinel answers (every pod
 * restarted at once), it is the primary this pod's sentinel last knew, from its config file on the
 * persistent volume; only on the very first start is it pod 0. Every address is a stable pod
 * hostname, so a restarted pod's new IP address changes nothing the sentinels remember.
 * failover-timeout is 10 s (Valkey's default is 3 min): two sentinels that split their votes try
 * again after twice that, and with the primary's node lost, the two left must agree.
 * Environment: SELF (this pod's hostname), FIRST (pod 0's), SENTINELS (every pod's, space-separated),
 * MASTER, QUORUM, MAXMEMORY_MB, DOWN_AFTER_MS.
 */
export const CONFIGURE_SH = `#!/bin/sh
set -eu
${auth}
primary=""
for host in $SENTINELS; do
  answer=$(timeout 3 valkey-cli --no-auth-warning -h "$host" -p 26379 SENTINEL get-master-addr-by-name "$MASTER" 2>/dev/null | head -n 1) || true
  case "$answer" in ""|ERR*|*error*) ;; *) primary=$answer; break ;; esac
done
if [ -n "$primary" ]; then
  echo "the sentinels name $primary as primary of $MASTER"
elif [ -f "${VALKEY_PATHS.data}/sentinel.conf" ]; then
  primary=$(sed -n "s/^sentinel monitor $MASTER \\([^ ]*\\) .*/\\1/p" "${VALKEY_PATHS.data}/sentinel.conf" | head -n 1)
  echo "no sentinel answers: $primary, the primary this pod's sentinel last knew, is the primary"
fi
if [ -z "$primary" ]; then
  primary=$FIRST
  echo "no sentinel names a primary of $MASTER yet: starting with $primary as primary"
fi
umask 077
{
  echo "port 6379"
  echo "dir ${VALKEY_PATHS.data}"
  echo "appendonly yes"
  echo "maxmemory \${MAXMEMORY_MB}mb"
  echo "maxmemory-policy noeviction"
  echo "replica-announce-ip $SELF"
  echo "requirepass $REDISCLI_AUTH"
  echo "masterauth $REDISCLI_AUTH"
  if [ "$primary" != "$SELF" ]; then echo "replicaof $primary 6379"; fi
} >"${VALKEY_PATHS.config}/valkey.conf"
{
  echo "port 26379"
  echo "dir /tmp"
  echo "sentinel resolve-hostnames yes"
  echo "sentinel announce-hostnames yes"
  echo "sentinel announce-ip $SELF"
  echo "requirepass $REDISCLI_AUTH"
  echo "sentinel sentinel-pass $REDISCLI_AUTH"
  echo "sentinel monitor $MASTER $primary 6379 $QUORUM"
  echo "sentinel auth-pass $MASTER $REDISCLI_AUTH"
  echo "sentinel down-after-milliseconds $MASTER $DOWN_AFTER_MS"
  echo "sentinel failover-timeout $MASTER 10000"
  echo "sentinel parallel-syncs $MASTER 1"
} >"${VALKEY_PATHS.data}/sentinel.conf"
`;

/**
 * The probes, one script with a mode each:
 * - startup: PONG. While the AOF replays the server answers LOADING, so the startup probe (with a
 *   long budget) keeps the other two from running until the data set is in memory.
 * - live: any answer at all, LOADING and MASTERDOWN included: only a server that does not answer is
 *   restarted, never one that is busy loading.
 * - ready: loaded, and either the primary or a replica whose link to the primary is up.
 * - sentinel: the sentinel answers PONG.
 * PROBE_HOST (default 127.0.0.1, the pod's own) lets the scripts' tests run several pods on one host.
 */
export const PROBE_SH = `#!/bin/sh
set -u
${auth}
cli() { port=$1; shift; timeout 4 valkey-cli --no-auth-warning -h "\${PROBE_HOST:-127.0.0.1}" -p "$port" "$@" 2>&1; }
case "$1" in
  startup) [ "$(cli 6379 PING)" = PONG ] ;;
  live)
    case "$(cli 6379 PING)" in PONG|LOADING*|MASTERDOWN*) exit 0 ;; *) exit 1 ;; esac ;;
  ready)
    info=$(cli 6379 INFO replication; cli 6379 INFO persistence)
    echo "$info" | grep -q '^loading:0' || exit 1
    echo "$info" | grep -q '^role:master' && exit 0
    echo "$info" | grep -q '^master_link_status:up' ;;
  sentinel) [ "$(cli 26379 PING)" = PONG ] ;;
  *) echo "usage: probe.sh startup|live|ready|sentinel" >&2; exit 2 ;;
esac
`;

/**
 * The snapshot job's first step: an RDB of the current primary (named by the sentinels), streamed by
 * valkey-cli --rdb into the job's scratch volume. Environment: SENTINELS, MASTER.
 */
export const SNAPSHOT_SH = `#!/bin/sh
set -eu
${auth}
primary=""
for host in $SENTINELS; do
  answer=$(timeout 5 valkey-cli --no-auth-warning -h "$host" -p 26379 SENTINEL get-master-addr-by-name "$MASTER" 2>/dev/null | head -n 1) || true
  case "$answer" in ""|ERR*|*error*) ;; *) primary=$answer; break ;; esac
done
if [ -z "$primary" ]; then echo "no sentinel named the primary of $MASTER" >&2; exit 1; fi
valkey-cli --no-auth-warning -h "$primary" -p 6379 --rdb "${VALKEY_PATHS.backup}/dump.rdb"
echo "snapshot of $primary: $(wc -c <"${VALKEY_PATHS.backup}/dump.rdb") bytes"
`;

/**
 * The second step: the RDB uploaded to object storage with curl's own SigV4 signing. The keys come
 * from the environment (a Secret) into a curl config file, so they are never arguments either.
 * Environment: ACCESS_KEY_ID, ACCESS_SECRET_KEY, S3_ENDPOINT, S3_REGION, S3_BUCKET, S3_PREFIX.
 */
export const UPLOAD_SH = `#!/bin/sh
set -eu
file="${VALKEY_PATHS.backup}/dump.rdb"
if [ ! -s "$file" ]; then echo "no snapshot at $file" >&2; exit 1; fi
key="$S3_PREFIX/valkey/$(date -u +%Y%m%dT%H%M%SZ).rdb"
umask 077
config=$(mktemp)
trap 'rm -f "$config"' EXIT
printf 'user = "%s:%s"\\n' "$ACCESS_KEY_ID" "$ACCESS_SECRET_KEY" >"$config"
sha=$(sha256sum "$file" | cut -d ' ' -f 1)
curl --fail --silent --show-error --config "$config" --aws-sigv4 "aws:amz:$S3_REGION:s3" \\
  -H "x-amz-content-sha256: $sha" --upload-file "$file" "$S3_ENDPOINT/$S3_BUCKET/$key"
echo "uploaded $S3_BUCKET/$key ($(wc -c <"$file") bytes)"
`;
