"""The Celery app: configured from Django settings (CELERY_*), tasks found in each app's tasks.py."""

from __future__ import annotations

import os
from pathlib import Path

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "slaportal.settings")

app = Celery("slaportal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _make_filesystem_queue(sender: Celery, **kwargs: object) -> None:
    # kombu's filesystem transport (the no-server default) and beat's schedule file fail on a folder that
    # does not exist yet, in the web process that publishes as much as in the worker.
    options = sender.conf.broker_transport_options or {}
    folders = [
        options[key]
        for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder")
        if options.get(key)
    ]
    if sender.conf.beat_schedule_filename:
        folders.append(str(Path(sender.conf.beat_schedule_filename).parent))
    for folder in folders:
        Path(folder).mkdir(parents=True, exist_ok=True)
