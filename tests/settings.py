"""The suite's settings: development mode (production is the default), for this process and every
process it starts (workers, manage.py), unless a test says otherwise."""

import os

os.environ.setdefault("DEBUG", "1")

from slaportal.settings import *  # noqa: F403
