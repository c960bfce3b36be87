"""WSGI entry point for `gunicorn qbproject.wsgi` and friends."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qbproject.settings")
application = get_wsgi_application()
