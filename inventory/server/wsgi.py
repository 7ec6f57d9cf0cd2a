"""WSGI entry point for gunicorn (``weee serve``)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "inventory.server.settings")
application = get_wsgi_application()
