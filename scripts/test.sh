#!/usr/bin/env bash
# Command 2: installs and starts PostgreSQL, Redis and Elasticsearch (scripts/services.sh), then runs
# lint and the whole pytest suite against them, then the service-independent tests in embedded mode.
# Extra arguments go to both pytest runs (e.g. -k merge, -x).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/services.sh
source .services/env
source scripts/venv.sh requirements-dev.txt
echo "[test] ruff"
ruff check .
ruff format --check .
echo "[test] full mode: PostgreSQL, Redis, Elasticsearch"
CRM_TEST_MODE=full python -m pytest -p no:cacheprovider "$@"
echo "[test] embedded mode: SQLite, inline jobs, SQL search"
env -u DATABASE_URL -u REDIS_URL -u ELASTICSEARCH_URL CRM_TEST_MODE=embedded python -m pytest -p no:cacheprovider -q "$@"
