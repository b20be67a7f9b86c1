#!/usr/bin/env bash
# `make run`: the web server plus a Celery worker with embedded beat, all on the no-server defaults
# (SQLite and the filesystem broker under var/). Ctrl-C stops all of it.
set -euo pipefail
PY=${1:-.venv/bin/python}
mkdir -p var/celery
"$PY" -m celery -A slaportal worker --beat --pool=solo --loglevel=INFO \
    --schedule="var/celery/beat-schedule" >var/celery/worker.log 2>&1 &
worker=$!
trap 'kill -TERM "$worker" 2>/dev/null; wait "$worker" 2>/dev/null' EXIT INT TERM
echo "Celery worker and beat running (log: var/celery/worker.log)"
echo "Serving http://127.0.0.1:8000 (Ctrl-C stops the server, the worker and beat)"
"$PY" manage.py runserver 127.0.0.1:8000
