"""Static files storage: WhiteNoise's compressed manifest storage, forgiving before
``collectstatic``.

Decision: deployments run ``manage.py collectstatic --noinput`` and get content-hashed,
compressed files that browsers cache for a year. A checkout that has not run it yet (tests,
a first ``runserver``) must still render every page: Django's manifest storage would answer
each admin page with a 500 ("Missing staticfiles manifest entry"). Here a name missing from
the manifest falls back to its plain URL, which WhiteNoise serves from the apps
(``WHITENOISE_USE_FINDERS``), and a warning says to run ``collectstatic``.
"""

from __future__ import annotations

import logging

from whitenoise.storage import CompressedManifestStaticFilesStorage

logger = logging.getLogger("quickbooks_sync.static")


class StaticStorage(CompressedManifestStaticFilesStorage):
    manifest_strict = False
    _warned = False

    def stored_name(self, name: str) -> str:
        try:
            return super().stored_name(name)
        except ValueError:
            # Not collected yet: the plain name is served from the app directories.
            if not StaticStorage._warned:
                StaticStorage._warned = True
                logger.warning(
                    "static file %s is not in %s: run `manage.py collectstatic --noinput` "
                    "(served uncompressed and uncached until then)",
                    name,
                    self.location,
                )
            return name
