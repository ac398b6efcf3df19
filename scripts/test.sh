#!/usr/bin/env bash
# Command 2: installs and starts PostgreSQL, Redis and Elasticsearch (scripts/services.sh), then runs
# lint and the whole pytest suite against them, then the service-independent tests in embedded mode.
# Extra arguments go to every pytest run (e.g. -k merge, -x); CRM_TEST_WORKERS sets the parallel processes (3).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/services.sh
source .services/env
source scripts/venv.sh requirements-dev.txt
echo "[test] ruff"
ruff check .
ruff format --check .
# pytest, where "no test selected" (exit 5) is fine when arguments such as -k narrowed the run.
run_pytest() {
  local rc=0
  python -m pytest -p no:cacheprovider "$@" || rc=$?
  if [ "$rc" -ne 0 ] && ! { [ "$rc" -eq 5 ] && [ "$NARROWED" -eq 1 ]; }; then exit "$rc"; fi
}
NARROWED=$(( $# > 0 ))
# Each pytest process has its own database, queue and index prefix, so the full-mode tests run in
# parallel; the fault tests stop and restart the shared services, so they run afterwards, alone.
WORKERS="${CRM_TEST_WORKERS:-3}"
echo "[test] full mode: PostgreSQL, Redis, Elasticsearch ($WORKERS processes)"
CRM_TEST_MODE=full run_pytest -n "$WORKERS" --dist loadfile -m "not faults" "$@"
echo "[test] full mode, the fault tests: services restarted, workers killed"
CRM_TEST_MODE=full run_pytest -m faults "$@"
echo "[test] embedded mode: SQLite, inline jobs, SQL search"
(unset DATABASE_URL REDIS_URL ELASTICSEARCH_URL; CRM_TEST_MODE=embedded run_pytest -q -n "$WORKERS" --dist loadfile "$@")
