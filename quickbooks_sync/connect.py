"""Connecting a QBO company from the browser: Intuit's authorization-code flow.

Decision: ``state`` is a random value (requests-oauthlib generates it with the consent
URL) bound to the staff user's session, valid for ten minutes and compared in constant
time on the way back, so a callback that did not start here (CSRF, a replayed or forged
link) is refused before any code is exchanged. The ``realmId`` of the callback is
untrusted too: the new token must read that company's CompanyInfo before it is stored.
Only staff with the ``connect_company`` / ``disconnect_company`` permissions get here.
The exchange and storage reuse ``token_bootstrap``, the same path as the
``bootstrap_tokens`` command. Disconnecting revokes the refresh token at Intuit first
and changes nothing locally if Intuit did not confirm, so a failed revoke never leaves
an app authorised that we think is gone.
"""

from __future__ import annotations

import hmac
import logging
import time

from django.conf import settings
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect
from django.urls import NoReverseMatch, reverse
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_POST

from quickbooks_sync.models import Company
from quickbooks_sync.qbo.errors import QBOError
from quickbooks_sync.qbo.oauth import authorization_url
from quickbooks_sync.services import company_disconnect
from quickbooks_sync.sync.runner import company_refresh_name
from quickbooks_sync.tokens import token_bootstrap

logger = logging.getLogger("quickbooks_sync.connect")

SESSION_KEY = "qbo_oauth_state"
# Consent takes a minute; a state older than this is a stale tab or a replayed link.
STATE_MAX_AGE_SECONDS = 600


def _redirect_uri(request: HttpRequest) -> str:
    return settings.QB_CONNECT_REDIRECT_URI or request.build_absolute_uri(
        reverse("quickbooks_sync:callback")
    )


def _company_page(company: Company | None) -> str:
    try:
        if company is not None:
            return reverse("admin:quickbooks_sync_company_change", args=[company.pk])
        return reverse("admin:index")
    except NoReverseMatch:
        return reverse("admin:index")


CONNECT_PERMISSION = "quickbooks_sync.connect_company"
DISCONNECT_PERMISSION = "quickbooks_sync.disconnect_company"


def _staff_with(permission: str):
    """Staff login first (anonymous users go to the login page), then the model
    permission: a staff user without it gets 403 before anything is read or changed."""

    def decorate(view):
        return staff_member_required(permission_required(permission, raise_exception=True)(view))

    return decorate


@_staff_with(CONNECT_PERMISSION)
def connect_view(request: HttpRequest) -> HttpResponse:
    """Send the browser to Intuit's consent page with a fresh, session-bound state."""
    if not settings.QB_CLIENT_ID:
        return HttpResponseBadRequest("QB_CLIENT_ID is not set: configure the Intuit app keys.")
    try:
        url, state = authorization_url(
            client_id=settings.QB_CLIENT_ID,
            authorize_url=settings.QB_AUTHORIZE_URL,
            redirect_uri=_redirect_uri(request),
            scope=settings.QB_SCOPES,
        )
    except QBOError as exc:
        return HttpResponseBadRequest(str(exc))
    request.session[SESSION_KEY] = {"state": state, "issued_at": time.time()}
    return redirect(url)


def _state_problem(saved: object, state: str) -> str | None:
    """Why this callback's ``state`` is refused, or None. Compared in constant time."""
    if not isinstance(saved, dict) or not isinstance(saved.get("state"), str):
        return "state mismatch"
    if not hmac.compare_digest(saved["state"].encode(), state.encode()):
        return "state mismatch"
    age = time.time() - float(saved.get("issued_at") or 0)
    if not 0 <= age <= STATE_MAX_AGE_SECONDS:
        return "state expired"
    return None


@_staff_with(CONNECT_PERMISSION)
@sensitive_variables("saved", "state", "code")
def callback_view(request: HttpRequest) -> HttpResponse:
    saved = request.session.pop(SESSION_KEY, None)
    state = request.GET.get("state", "")
    problem = _state_problem(saved, state)
    if problem == "state expired":
        logger.warning("connect callback refused: state older than %d s", STATE_MAX_AGE_SECONDS)
        return HttpResponseBadRequest(
            f"This authorization took longer than {STATE_MAX_AGE_SECONDS // 60} minutes "
            "(state expired). Start again from /quickbooks/connect/."
        )
    if problem:
        logger.warning("connect callback refused: state does not match this session")
        return HttpResponseBadRequest(
            "This authorization response does not belong to your session (state mismatch). "
            "Start again from /quickbooks/connect/."
        )
    if request.GET.get("error"):
        messages.error(request, f"QuickBooks did not connect: {request.GET['error'][:100]}.")
        return redirect(_company_page(None))
    code, realm_id = request.GET.get("code", ""), request.GET.get("realmId", "")
    if not code or not realm_id or not realm_id.isdigit():
        return HttpResponseBadRequest("The callback lacks a code or a numeric realmId.")
    try:
        # realmId is a query parameter anyone can edit: the new token must prove it can
        # read that company before it replaces anything (verify_realm).
        token_bootstrap(
            realm_id=realm_id, code=code, redirect_uri=_redirect_uri(request), verify_realm=True
        )
    except QBOError as exc:
        messages.error(request, f"Could not connect realm {realm_id}: {exc}")
        return redirect(_company_page(None))
    name = company_refresh_name(realm_id=realm_id)
    company = Company.objects.get(realm_id=realm_id)
    messages.success(
        request, f"Connected {name or 'realm ' + realm_id}; the first sync is due now."
    )
    return redirect(_company_page(company))


@_staff_with(DISCONNECT_PERMISSION)
@require_POST
def disconnect_view(request: HttpRequest, realm_id: str) -> HttpResponse:
    company = get_object_or_404(Company, realm_id=realm_id)
    try:
        company_disconnect(realm_id=realm_id)
    except QBOError as exc:
        messages.error(request, f"Intuit did not confirm the revoke ({exc}); nothing changed.")
        return redirect(_company_page(company))
    messages.success(request, f"Disconnected {company}; its synced data stays for reference.")
    return redirect(_company_page(company))
