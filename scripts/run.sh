#!/usr/bin/env bash
# Command 1: the app in embedded mode (SQLite, inline jobs, SQL search: no Java, Redis or PostgreSQL).
# Makes the virtualenv, installs, migrates, seeds the demo data (once) and serves on 127.0.0.1.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/venv.sh requirements.txt
# Embedded mode means these are absent, whatever the shell had.
unset DATABASE_URL REDIS_URL ELASTICSEARCH_URL
export FLASK_APP=wsgi:app
HOST="${HOST:-127.0.0.1}"
PORT="${PORT:-5000}"
echo "[run] migrating the SQLite database in instance/"
flask db upgrade
if [[ ! -f instance/.demo-seeded ]]; then
  echo "[run] seeding the demo data (once; delete instance/ to start again)"
  flask demo seed && touch instance/.demo-seeded
fi
echo
echo "  crm is running at http://$HOST:$PORT/"
echo "  log in as agent@demo.example, marketer@demo.example or admin@demo.example, password demo-password"
echo "  health: http://$HOST:$PORT/healthz    API: http://$HOST:$PORT/api/v1/openapi.json"
echo
exec gunicorn --bind "$HOST:$PORT" --workers 1 --threads 8 --access-logfile - wsgi:app
