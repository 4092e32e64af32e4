import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orderdesk.settings")
application = get_wsgi_application()

# After setup, so the app registry and settings are ready.
from orderdesk.warmup import warm_up  # noqa: E402

warm_up()
