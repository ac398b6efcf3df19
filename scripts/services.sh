#!/usr/bin/env bash
# Installs (from Debian's packages and Maven Central) and starts the services the full mode and the
# test suite run on: PostgreSQL, Redis and a single-node Elasticsearch, all on 127.0.0.1, with their
# data under .services/ (ignored by git). Safe to run twice: a service already answering is left alone.
# Prints the settings to use (also written to .services/env) and, when a service does not come up,
# a clear message with the tail of its log. `bash scripts/services.sh stop` stops them.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SVC="$ROOT/.services"
PG_PORT="${CRM_PG_PORT:-55432}"
REDIS_PORT="${CRM_REDIS_PORT:-56379}"
ES_PORT="${CRM_ES_PORT:-59200}"
ES_VERSION="${CRM_ES_VERSION:-9.2.0}"   # newest release served here that starts on this JDK; pinned
ES_HEAP="${CRM_ES_HEAP:-1g}"
ES_JAVA_HOME="${ES_JAVA_HOME:-}"
WITH_BROWSER="${CRM_WITH_BROWSER:-1}"

mkdir -p "$SVC"
log() { printf '[services] %s\n' "$*"; }
fail() { printf '[services] ERROR: %s\n' "$1" >&2; if [[ -n "${2:-}" && -f "$2" ]]; then printf -- '--- last lines of %s ---\n' "$2" >&2; tail -n 40 "$2" >&2; fi; exit 1; }

as_root() { if [[ $EUID -eq 0 ]]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else fail "need root (or sudo) to run: $*"; fi; }

# `services.sh stop`: stops what this folder's services.sh started (their data stays in .services/).
if [[ "${1:-}" == stop ]]; then
  stop_pid() { if [[ -f "$1" ]] && kill "$(cat "$1")" 2>/dev/null; then log "$2 stopped"; fi; }
  stop_pid "$SVC/es.pid" Elasticsearch
  stop_pid "$SVC/redis.pid" Redis
  if [[ -f "$SVC/pgdata/postmaster.pid" ]]; then
    pg_ctl="$(ls -d /usr/lib/postgresql/*/bin/pg_ctl | sort -V | tail -n1)"
    owner="$(stat -c %U "$SVC/pgdata")"
    if [[ $EUID -eq 0 && "$owner" != root ]]; then runuser -u "$owner" -- "$pg_ctl" -D "$SVC/pgdata" -m fast -w stop >/dev/null; else "$pg_ctl" -D "$SVC/pgdata" -m fast -w stop >/dev/null; fi
    log "PostgreSQL stopped"
  fi
  exit 0
fi

# ---------------------------------------------------------------- packages
need_pkgs=()
command -v redis-server >/dev/null || need_pkgs+=(redis-server)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_pkgs+=(postgresql)
command -v curl >/dev/null || need_pkgs+=(curl)
command -v unzip >/dev/null || need_pkgs+=(unzip)
if [[ "$WITH_BROWSER" == 1 ]] && ! command -v chromium >/dev/null; then need_pkgs+=(chromium); fi
if ((${#need_pkgs[@]})); then
  log "installing from Debian: ${need_pkgs[*]}"
  as_root apt-get update -qq >"$SVC/apt.log" 2>&1 || fail "apt-get update failed" "$SVC/apt.log"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >>"$SVC/apt.log" 2>&1 \
    || fail "apt-get install ${need_pkgs[*]} failed" "$SVC/apt.log"
  # Debian starts a system redis/postgres on their default ports; ours run on their own ports, so leave those be.
fi
PG_BIN="$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n1)")"

# Services refuse to run as root (PostgreSQL, Elasticsearch): they run as a system user of their own.
SVC_USER="$(id -un)"
if [[ $EUID -eq 0 ]]; then
  SVC_USER=crm-services
  id "$SVC_USER" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$SVC_USER"
fi
run_as() { if [[ $EUID -eq 0 ]]; then runuser -u "$SVC_USER" -- "$@"; else "$@"; fi; }
chown "$SVC_USER" "$SVC" 2>/dev/null || true

# ---------------------------------------------------------------- PostgreSQL
pg_up() { "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; }
if pg_up; then
  log "PostgreSQL already up on 127.0.0.1:$PG_PORT"
else
  PGDATA="$SVC/pgdata"
  if [[ ! -f "$PGDATA/PG_VERSION" ]]; then
    log "initialising PostgreSQL in $PGDATA"
    mkdir -p "$PGDATA"; chown "$SVC_USER" "$PGDATA"; chmod 700 "$PGDATA"
    run_as "$PG_BIN/initdb" -D "$PGDATA" -U crm --auth=trust -E UTF8 --locale=C.UTF-8 >"$SVC/pg-init.log" 2>&1 \
      || fail "initdb failed" "$SVC/pg-init.log"
    cat >>"$PGDATA/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$SVC'
max_connections = 200
shared_buffers = 256MB
fsync = ${CRM_PG_FSYNC:-on}
synchronous_commit = ${CRM_PG_SYNC_COMMIT:-on}
CONF
  fi
  log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
  touch "$SVC/postgres.log"; chown "$SVC_USER" "$SVC/postgres.log"
  run_as "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$SVC/postgres.log" -w -t 60 start >/dev/null 2>&1 \
    || fail "PostgreSQL did not start" "$SVC/postgres.log"
fi
"$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U crm -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='crm'" | grep -q 1 \
  || "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U crm crm

# ---------------------------------------------------------------- Redis
redis_up() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; }
if redis_up; then
  log "Redis already up on 127.0.0.1:$REDIS_PORT"
else
  log "starting Redis on 127.0.0.1:$REDIS_PORT"
  mkdir -p "$SVC/redis"; chown "$SVC_USER" "$SVC/redis"
  run_as redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$SVC/redis" --daemonize yes \
    --logfile "$SVC/redis.log" --pidfile "$SVC/redis.pid" --appendonly yes --save "" \
    || fail "Redis did not start" "$SVC/redis.log"
  for _ in $(seq 1 50); do redis_up && break; sleep 0.2; done
  redis_up || fail "Redis did not answer PING on port $REDIS_PORT" "$SVC/redis.log"
fi

# ---------------------------------------------------------------- Elasticsearch
es_up() { curl -fsS "http://127.0.0.1:$ES_PORT/_cluster/health" >/dev/null 2>&1; }
if es_up; then
  log "Elasticsearch already up on 127.0.0.1:$ES_PORT"
else
  ES_HOME="$SVC/elasticsearch-$ES_VERSION"
  if [[ ! -x "$ES_HOME/bin/elasticsearch" ]]; then
    ZIP="$SVC/dist/elasticsearch-$ES_VERSION.zip"
    if [[ ! -f "$ZIP" ]]; then
      log "fetching Elasticsearch $ES_VERSION from Maven Central"
      mkdir -p "$SVC/dist"
      mvn -q -B dependency:copy \
        -Dartifact="org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip" \
        -DoutputDirectory="$SVC/dist" >"$SVC/mvn.log" 2>&1 || fail "could not fetch Elasticsearch $ES_VERSION with Maven" "$SVC/mvn.log"
    fi
    log "unpacking Elasticsearch $ES_VERSION"
    rm -rf "$SVC/es-unpack"; mkdir -p "$SVC/es-unpack"
    unzip -q "$ZIP" -d "$SVC/es-unpack"
    mv "$SVC/es-unpack/elasticsearch-$ES_VERSION" "$ES_HOME"; rm -rf "$SVC/es-unpack"
  fi
  if [[ -z "$ES_JAVA_HOME" ]]; then
    # Elasticsearch 9 needs Java 21+; take the newest JDK on the machine.
    for j in $(ls -d /usr/lib/jvm/*/ 2>/dev/null | sort -V -r); do
      v="$("$j/bin/java" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1)"
      if [[ -n "$v" && "$v" -ge 21 ]]; then ES_JAVA_HOME="${j%/}"; break; fi
    done
  fi
  [[ -n "$ES_JAVA_HOME" ]] || fail "Elasticsearch $ES_VERSION needs Java 21 or newer and none was found under /usr/lib/jvm (set ES_JAVA_HOME)"
  cat >"$ES_HOME/config/elasticsearch.yml" <<CONF
cluster.name: crm-local
node.name: crm-local-1
network.host: 127.0.0.1
http.port: $ES_PORT
transport.port: $((ES_PORT + 100))
discovery.type: single-node
path.data: $SVC/es-data
path.logs: $SVC/es-logs
# Security is off for this loopback-only development and test node. Production takes
# ELASTICSEARCH_URL with credentials or ELASTICSEARCH_API_KEY and ELASTICSEARCH_CA_CERTS.
xpack.security.enabled: false
action.destructive_requires_name: false
cluster.routing.allocation.disk.threshold_enabled: false
CONF
  mkdir -p "$SVC/es-data" "$SVC/es-logs"
  chown -R "$SVC_USER" "$ES_HOME" "$SVC/es-data" "$SVC/es-logs"
  log "starting Elasticsearch $ES_VERSION on 127.0.0.1:$ES_PORT (Java: $ES_JAVA_HOME, heap $ES_HEAP)"
  run_as env ES_JAVA_HOME="$ES_JAVA_HOME" ES_JAVA_OPTS="-Xms$ES_HEAP -Xmx$ES_HEAP" \
    "$ES_HOME/bin/elasticsearch" -d -p "$SVC/es.pid" >"$SVC/es-start.log" 2>&1 \
    || fail "Elasticsearch did not start" "$SVC/es-start.log"
  for _ in $(seq 1 120); do es_up && break; sleep 1; done
  es_up || fail "Elasticsearch did not answer on port $ES_PORT within 120 s" "$SVC/es-logs/crm-local.log"
fi
curl -fsS "http://127.0.0.1:$ES_PORT/_cluster/health?wait_for_status=yellow&timeout=60s" >/dev/null \
  || fail "Elasticsearch cluster did not reach yellow" "$SVC/es-logs/crm-local.log"

cat >"$SVC/env" <<ENV
export DATABASE_URL=postgresql+psycopg://crm@127.0.0.1:$PG_PORT/crm
export REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0
export ELASTICSEARCH_URL=http://127.0.0.1:$ES_PORT
ENV
log "all up; settings in .services/env:"
sed 's/^export /  /' "$SVC/env"
