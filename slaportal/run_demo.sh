#!/usr/bin/env bash
# `make run`: the web server plus a Celery worker with embedded beat, all on the no-server defaults
# (SQLite and the filesystem broker under var/). Ctrl-C stops all of it; so does either one failing
# (the port already taken, say), so nothing is left running half-wired.
set -uo pipefail
PY=${1:-.venv/bin/python}
mkdir -p var/celery
# Show times as the demo SLA's business calendar counts them (Europe/Warsaw), unless told otherwise.
export TIME_ZONE="${TIME_ZONE:-Europe/Warsaw}"

# Threads, so the outbox's lanes go side by side: a slow webhook receiver holds up its own deliveries only.
"$PY" -m celery -A slaportal worker --beat --pool=threads --concurrency=4 --loglevel=INFO \
    --schedule="var/celery/beat-schedule" >var/celery/worker.log 2>&1 &
worker=$!
# The development server serves each request in a thread of its own, so a connection kept for reuse is
# never reused: on PostgreSQL every request would leave one open. Closed after each request here.
DATABASE_CONN_MAX_AGE="${DATABASE_CONN_MAX_AGE:-0}" "$PY" manage.py runserver 127.0.0.1:8000 &
web=$!

stop() {
    trap - EXIT INT TERM
    kill -TERM "$worker" "$web" 2>/dev/null
    wait "$worker" "$web" 2>/dev/null
    echo "Stopped the web server, the worker and beat."
}
trap stop EXIT INT TERM
echo "Celery worker and beat running (log: var/celery/worker.log)"
echo "Serving http://127.0.0.1:8000 (Ctrl-C stops the server, the worker and beat)"
wait -n "$worker" "$web"
