"""The admin in a real browser: what an accountant and an operator actually click through.

Playwright drives Debian's Chromium (``/usr/bin/chromium``; ``make chromium`` installs it,
there is no browser download) against pytest-django's ``live_server``, on data synced
from the bundled QBO sandbox by the real commands. Screenshots of the main pages, in light
and dark mode and on a phone-sized viewport, go to ``artifacts/screenshots/``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from quickbooks_sync.models import Company, Invoice, Token
from quickbooks_sync.sandbox import DEFAULT_REALM, SandboxConfig, SandboxServer
from quickbooks_sync.selectors import customer_list, invoice_list
from tests.production_server import ADMIN_PASSWORD, production_server

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
PASSWORD = "password"  # pytest-django's admin_user


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the module.

    Playwright's sync API keeps an asyncio loop running in this thread, which makes
    Django's async-unsafe guard refuse every ORM call the test (and its teardown) makes;
    the guard is lifted for this module only and restored afterwards.
    """
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium is missing: run `make chromium` (as root)")
    sync_api = pytest.importorskip("playwright.sync_api")
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_api.sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=LAUNCH_ARGS, headless=True
            )
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(autouse=True)
def _static_files_from_the_apps(settings):
    """The live server serves static files from the apps (finders), by their plain names.
    A checkout that ran ``collectstatic`` (``make demo`` does) has a manifest whose hashed
    names it does not serve, and the pages came out unstyled; the production path (hashed
    names through WhiteNoise) is ``test_admin_is_styled_by_runserver_with_debug_off``."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def synced(settings):
    """The bundled sandbox, bootstrapped and synced with the real commands."""
    config = SandboxConfig(seed=11, customers=40, invoices=200, realms=(DEFAULT_REALM,))
    with SandboxServer(config) as server:
        settings.QB_API_BASE_URL = server.url
        settings.QB_OAUTH_TOKEN_URL = server.token_url
        settings.QB_CLIENT_ID = config.client_id
        settings.QB_CLIENT_SECRET = config.client_secret
        code = server.state.issue_authorization_code(DEFAULT_REALM)
        call_command(
            "bootstrap_tokens",
            code=code,
            realm_id=DEFAULT_REALM,
            redirect_uri="http://localhost/cb",
        )
        call_command("runsync", "--once", "--no-progress")
        yield server


def open_admin(browser, live_server, *, dark=False, viewport=DESKTOP):
    context = browser.new_context(viewport=viewport, color_scheme="dark" if dark else "light")
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#qbo-health")
    return page


def shot(page, name: str, *, full_page: bool = False) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)


def test_find_a_customers_open_invoices_see_raw_json_and_sync_now(
    browser, live_server, admin_user, synced
):
    target = (
        customer_list()
        .filter(unpaid_invoice_count__gt=0, deleted_at__isnull=True)
        .order_by("-unpaid_invoice_count", "qb_id")
        .first()
    )
    assert target is not None, "the seed should give some customer an unpaid invoice"
    page = open_admin(browser, live_server)

    # Status at a glance on the admin index.
    assert page.get_attribute("#qbo-health [data-health]", "data-health") == "healthy"
    shot(page, "index-light")

    # Find the customer by (part of) its name.
    page.click("#content-main a[href$='/quickbooks_sync/customer/']")
    page.fill("#searchbar", target.display_name[:12])
    page.press("#searchbar", "Enter")
    row = page.locator("#result_list tbody tr", has_text=target.display_name).first
    row.wait_for()
    shot(page, "customers-light")

    # Its unpaid invoices, one click away.
    row.get_by_role("link", name=re.compile(r"\d+ unpaid")).click()
    page.wait_for_selector("#result_list")
    assert f"Invoices of {target.display_name}" in page.inner_text("#content h1")
    unpaid = set(
        invoice_list()
        .filter(
            realm_id=target.realm_id, customer_qb_id=target.qb_id, status__in=["open", "overdue"]
        )
        .values_list("doc_number", flat=True)
    )
    numbers = set(page.locator("#result_list tbody th a").all_inner_texts())
    assert numbers == unpaid
    shot(page, "customer-invoices-light")

    # An invoice with its raw QBO JSON.
    page.locator("#result_list tbody th a").first.click()
    raw = page.locator("pre.qbo-raw-json")
    raw.wait_for()
    invoice = Invoice.objects.get(
        realm_id=target.realm_id,
        doc_number=page.locator("div.field-doc_number div.readonly").inner_text(),
    )
    assert f'"Id": "{invoice.qb_id}"' in raw.inner_text()
    assert f'"value": "{target.qb_id}"' in raw.inner_text()
    assert page.locator("input[name=doc_number]").count() == 0  # read-only
    shot(page, "invoice-light", full_page=True)

    # Sync now from the sync states list marks the realm's Company due.
    before = timezone.now()
    page.goto(f"{live_server.url}/admin/quickbooks_sync/syncstate/")
    page.check("#action-toggle")
    page.select_option("select[name=action]", "sync_now")
    page.click("button[name=index]")
    page.wait_for_selector(".messagelist .success")
    assert f"Marked due: {DEFAULT_REALM}" in page.inner_text(".messagelist")
    company = Company.objects.get(realm_id=DEFAULT_REALM)
    assert company.next_sync_due_at is not None and company.next_sync_due_at >= before
    shot(page, "syncstates-light")

    # Tokens: health and expiry instants, never a token.
    page.goto(f"{live_server.url}/admin/quickbooks_sync/token/")
    token = Token.objects.get(realm_id=DEFAULT_REALM)
    text = page.content()
    assert "refresh token expires in" in text
    assert token.access_token not in text and token.refresh_token not in text
    shot(page, "tokens-light")
    page.context.close()


@pytest.mark.parametrize(("theme", "viewport"), [("dark", DESKTOP), ("narrow", PHONE)])
def test_pages_in_dark_mode_and_on_a_phone(
    browser, live_server, admin_user, synced, theme, viewport
):
    page = open_admin(browser, live_server, dark=theme == "dark", viewport=viewport)
    invoice = invoice_list().filter(status="overdue").first() or invoice_list().first()
    pages = {
        "index": "/admin/",
        "customers": "/admin/quickbooks_sync/customer/",
        "invoices": "/admin/quickbooks_sync/invoice/?status=overdue",
        "invoice": f"/admin/quickbooks_sync/invoice/{invoice.pk}/change/",
        "syncstates": "/admin/quickbooks_sync/syncstate/",
        "tokens": "/admin/quickbooks_sync/token/",
    }
    for name, path in pages.items():
        page.goto(live_server.url + path)
        page.wait_for_selector("#content")
        shot(page, f"{name}-{theme}", full_page=name == "invoice")
        if theme == "dark":
            body = page.evaluate("getComputedStyle(document.body).backgroundColor")
            assert _luminance(body) < 0.2, f"{name}: body {body} is not dark"
        else:
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= viewport["width"] + 1, f"{name} overflows a phone screen: {width}px"
    # Our own additions follow the theme too: the JSON block, and badges stay readable.
    page.goto(live_server.url + pages["invoice"])
    raw_bg = _style(page, "pre.qbo-raw-json", "backgroundColor")
    assert (_luminance(raw_bg) < 0.2) if theme == "dark" else (_luminance(raw_bg) > 0.8)
    badge = ".field-status_badge .qbo-badge"
    fg, bg = _style(page, badge, "color"), _style(page, badge, "backgroundColor")
    assert _contrast(fg, bg) >= 3, f"status badge {fg} on {bg} is hard to read"
    page.context.close()


def _style(page, selector: str, prop: str) -> str:
    return page.evaluate(f"getComputedStyle(document.querySelector({selector!r})).{prop}")


def _luminance(css_rgb: str) -> float:
    """WCAG relative luminance of ``rgb(r, g, b)``."""

    def channel(value: str) -> float:
        c = int(value) / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in re.findall(r"\d+", css_rgb)[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_admin_is_styled_by_runserver_with_debug_off(browser, tmp_path):
    """The README's steps (migrate, collectstatic, runserver with DJANGO_DEBUG=false): every
    stylesheet answers 200 and the admin is styled, not bare HTML."""
    with production_server(tmp_path) as server:
        context = browser.new_context(viewport=DESKTOP)
        page = context.new_page()
        page.set_default_timeout(15_000)
        css_statuses: dict[str, int] = {}
        page.on(
            "response",
            lambda r: css_statuses.__setitem__(r.url, r.status) if ".css" in r.url else None,
        )
        page.goto(f"{server.url}/admin/")
        page.fill("#id_username", "admin")
        page.fill("#id_password", ADMIN_PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_selector("#qbo-health")
        shot(page, "index-runserver-debug-off")
        assert any("/static/admin/css/base." in url for url in css_statuses), css_statuses
        assert all(status == 200 for status in css_statuses.values()), css_statuses
        header = _style(page, "#header", "backgroundColor")
        assert header not in ("rgba(0, 0, 0, 0)", "transparent"), f"unstyled header: {header}"
        assert page.evaluate("document.styleSheets.length") >= 2
        context.close()
