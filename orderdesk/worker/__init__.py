"""The task worker: `manage.py run_worker` and the periodic work it does besides tasks."""
