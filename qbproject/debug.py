"""What Django's error pages and error e-mails may show.

Decision: Django's stock filter switches itself off when ``DEBUG`` is on and hides only
settings whose *name* looks secret. That leaked, with ``DJANGO_DEBUG=true``: the
``DATABASE_URL`` password from ``request.META`` (``runserver`` copies the environment
there), the authorization code in the callback's query string, and token values in the
frame locals of the OAuth code. This filter is always on, so ``sensitive_variables`` /
``sensitive_post_parameters`` hold in debug pages too; it also masks the password of any
URL with credentials, every value the process registered as secret
(``quickbooks_sync.logging.register_secret``), QB_* secrets by name, and the values of
OAuth query parameters. ``DJANGO_DEBUG`` is refused together with ``DJANGO_SECURE``
(``settings.py``), so production never renders these pages at all.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode

from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

from quickbooks_sync.logging import redact

# Query parameters that carry a credential in OAuth flows (values masked, names kept).
SENSITIVE_PARAMETERS = frozenset(
    {"code", "state", "access_token", "refresh_token", "token", "id_token", "client_secret"}
)
_URL_CREDENTIALS = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^/@\s:]*:)[^/@\s]*(?P<tail>@)", re.I)


def mask_url_credentials(text: str) -> str:
    """``postgres://user:secret@host/db`` → ``postgres://user:********************@host/db``."""
    return _URL_CREDENTIALS.sub(
        lambda m: m["head"] + SafeExceptionReporterFilter.cleansed_substitute + m["tail"], text
    )


def mask_text(text: str) -> str:
    """Any text shown on an error page: URL passwords, OAuth parameter values in URLs
    (a request's repr carries its query string), and registered secrets."""
    return redact(mask_url_credentials(text))


def mask_query(query: str) -> str:
    pairs = parse_qsl(query, keep_blank_values=True)
    if not any(key.lower() in SENSITIVE_PARAMETERS for key, _ in pairs):
        return query
    return urlencode(
        [
            (key, "********" if key.lower() in SENSITIVE_PARAMETERS else value)
            for key, value in pairs
        ]
    )


class SecretsReporterFilter(SafeExceptionReporterFilter):
    hidden_settings = re.compile(
        "API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|CODE|DATABASE_URL", flags=re.I
    )

    def is_active(self, request) -> bool:
        return True  # Django's default is off under DEBUG: exactly when pages are shown.

    def cleanse_setting(self, key, value):
        cleansed = super().cleanse_setting(key, value)
        if isinstance(cleansed, str):
            if key == "QUERY_STRING":
                cleansed = mask_query(cleansed)
            cleansed = mask_text(cleansed)
        return cleansed


class SecretsExceptionReporter(ExceptionReporter):
    """Also masks frame variables (a request's repr holds its query string), the
    exception text, the request line's query string and its GET parameters."""

    def get_traceback_data(self):
        data = super().get_traceback_data()
        for frame in data.get("frames", []):
            frame["vars"] = [(name, mask_text(str(value))) for name, value in frame["vars"]]
        if isinstance(data.get("exception_value"), str):
            data["exception_value"] = mask_text(data["exception_value"])
        if self.request is not None:
            data["request_GET_items"] = [
                (key, "********" if key.lower() in SENSITIVE_PARAMETERS else value)
                for key, value in self.request.GET.items()
            ]
            uri = data.get("request_insecure_uri", "")
            if "?" in uri:
                path, query = uri.split("?", 1)
                data["request_insecure_uri"] = f"{path}?{mask_query(query)}"
        return data
