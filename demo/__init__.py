"""The demo: users, teams, a signed SLA and a year of leads and reports, played through the real services.

`manage.py seed_demo` (which `make run` calls) builds it; it sits above every app because it uses them all.
"""
