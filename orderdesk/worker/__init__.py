"""The task worker: the task queue (django-tasks-db's, or RQ's on Redis) plus the periodic schedule."""
