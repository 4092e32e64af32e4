"""The task worker: django-tasks-db's queue plus the schedule of periodic work (schedule.py)."""
