"""Static files with DEBUG off: the admin is styled the way it is deployed.

Without WhiteNoise, ``DJANGO_DEBUG=false`` (``.env.example``'s value) left every /static/
URL a 404 and the admin bare HTML.
"""

from __future__ import annotations

import urllib.request

import pytest
from django.test import Client

from tests.production_server import production_server, stylesheet_urls


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with production_server(tmp_path_factory.mktemp("prod")) as running:
        yield running


def _get(url: str) -> tuple[int, str, str]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, response.headers.get("Content-Type", ""), response.read().decode()


def test_runserver_with_debug_off_serves_the_collected_admin_css(server):
    status, _, html = _get(server.url + "/admin/login/")
    assert status == 200
    sheets = stylesheet_urls(html)
    assert any("/static/admin/css/base." in s for s in sheets), sheets
    for sheet in sheets:
        status, content_type, body = _get(server.url + sheet)
        assert status == 200, sheet
        assert content_type.startswith("text/css"), (sheet, content_type)
        assert body.strip(), sheet
    # collectstatic ran: names carry a content hash (cache-busting manifest).
    base = next(s for s in sheets if "/static/admin/css/base." in s)
    assert base != "/static/admin/css/base.css", base
    assert (server.static_root / "staticfiles.json").is_file()


@pytest.mark.django_db
def test_wsgi_app_serves_static_files_with_debug_off_even_before_collectstatic(settings, tmp_path):
    settings.DEBUG = False
    settings.STATIC_ROOT = tmp_path / "never-collected"
    client = Client()
    login = client.get("/admin/login/")
    assert login.status_code == 200  # not a 500 for a missing manifest entry
    sheets = stylesheet_urls(login.content.decode())
    assert "/static/admin/css/base.css" in sheets
    css = client.get("/static/admin/css/base.css")
    assert css.status_code == 200
    assert css["Content-Type"].startswith("text/css")
    assert b"".join(css.streaming_content if css.streaming else [css.content]).strip()
