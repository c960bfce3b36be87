"""HTTP front of the sandbox: routing, bearer auth, throttle, latency, injected faults, OAuth.

Routes (see README.md for the full list):

* ``/v3/company/{realm}/...``      the accounting API (api.py)
* ``POST /oauth2/v1/tokens/bearer`` token endpoint (authorization_code, refresh_token)
* ``GET /connect/oauth2``           authorize; auto-consents with a 302 to the redirect_uri
* ``POST /v2/oauth2/tokens/revoke`` revoke a token family
* ``GET /.well-known/openid_sandbox_configuration`` discovery doc (for intuitlib's AuthClient)
* ``/_sandbox/...``                 test-control API that QBO does not have (admin.py)

Why HTTP/1.1 with exact Content-Length: clients keep connections alive, and a sync that
opens a socket per page measures the sandbox rather than itself. Every answer carries an
``intuit_tid`` header like QBO's. The server logs nothing per request.

Order of checks for /v3 (gateway first, like QBO): stats count -> throttle (429) ->
injected fault -> latency -> bearer token (401) -> realm access (403) -> API.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import random
import secrets
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

from . import admin
from .api import Reply, V3Api, classify, json_reply, split_v3_path
from .clock import fmt_time_ms
from .config import SandboxConfig
from .faults import HTML_BODY, auth_failed, authz_failed, system_fault, throttled, unavailable
from .oauth import TokenError
from .store import SandboxState

TOKEN_PATH = "/oauth2/v1/tokens/bearer"  # noqa: S105 - a URL path, not a secret
AUTHORIZE_PATH = "/connect/oauth2"
REVOKE_PATH = "/v2/oauth2/tokens/revoke"
RESET = Reply(0, b"")  # sentinel: drop the connection without answering


def new_tid() -> str:
    return f"1-{secrets.token_hex(4)}-{secrets.token_hex(12)}"


class SandboxApp:
    """Request -> Reply logic, independent of the socket plumbing."""

    def __init__(self, state: SandboxState, server: SandboxServer):
        self.state = state
        self.server = server
        self.api = V3Api(state)

    def _time(self) -> str:
        return fmt_time_ms(self.state.clock.time())

    def v3(self, method: str, path: str, params: dict, headers, body: bytes) -> Reply:
        st = self.state
        split = split_v3_path(path)
        if split is None:
            return self.api.fault("500", "Unsupported Operation", f"Unknown path {path}")
        realm, rest = split
        st.count_api(realm, classify(rest, method))
        allowed = st.throttle.enter(realm, st.throttle_enabled)
        try:
            if not allowed:
                return json_reply(429, throttled(self._time()))
            fault = st.faults.take(path, realm, token_endpoint=False)
            latency, jitter = st.latency
            pause = latency + (random.uniform(0, jitter) if jitter else 0.0)
            if pause > 0:
                time.sleep(pause)
            kind = fault.kind if fault else None
            if kind == "slow":
                time.sleep(fault.delay or 0.0)
            elif kind is not None and kind != "truncated":
                return self._fault_reply(fault)
            reply = self._authorize(realm, headers) or self.api.handle(
                method, realm, rest, params, body
            )
            if kind == "truncated":
                reply = Reply(200, reply.body[: max(1, len(reply.body) // 2)])
            return reply
        finally:
            st.throttle.leave(realm)

    def _fault_reply(self, fault) -> Reply:
        now = self.state.clock.time()
        if fault.kind == "reset":
            return RESET
        if fault.kind == "html":
            return Reply(fault.status or 502, HTML_BODY, "text/html; charset=utf-8")
        if fault.kind == "401":
            reply = json_reply(401, auth_failed("Token expired: injected fault", now))
        elif fault.kind == "429":
            reply = json_reply(429, throttled(self._time()))
        elif fault.kind == "503":
            reply = json_reply(503, unavailable(self._time()))
        else:
            reply = json_reply(500, system_fault(self._time()))
        if fault.retry_after is not None and fault.kind in ("429", "503"):
            ra = fault.retry_after
            reply.headers["Retry-After"] = str(int(ra)) if float(ra).is_integer() else str(ra)
        return reply

    def _authorize(self, realm: str, headers) -> Reply | None:
        auth = headers.get("Authorization") or ""
        token = auth[7:].strip() if auth[:7].lower() == "bearer " else None
        token_realm, detail = self.state.tokens.check_access(token)
        now = self.state.clock.time()
        if token_realm is None:
            return json_reply(401, auth_failed(detail, now))
        if realm not in self.state.realms or token_realm != realm:
            return json_reply(
                403, authz_failed(f"The application is not authorized to access realm {realm}", now)
            )
        return None

    # -- OAuth endpoints --------------------------------------------------------------
    def discovery(self) -> dict:
        """OpenID discovery doc pointing at the sandbox (intuitlib's AuthClient reads it)."""
        base = self.server.url
        return {
            "issuer": "https://oauth.platform.intuit.com/op/v1",
            "authorization_endpoint": base + AUTHORIZE_PATH,
            "token_endpoint": base + TOKEN_PATH,
            "revocation_endpoint": base + REVOKE_PATH,
            "userinfo_endpoint": base + "/v1/openid_connect/userinfo",
            "jwks_uri": base + "/op/v1/jwks",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        }

    def _client_ok(self, headers, form: dict) -> bool:
        cfg = self.state.cfg
        auth = headers.get("Authorization") or ""
        if auth[:6].lower() == "basic ":
            try:
                cid, _, secret = base64.b64decode(auth[6:].strip()).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return False
        else:
            cid, secret = form.get("client_id", ""), form.get("client_secret", "")
        return secrets.compare_digest(cid, cfg.client_id) and secrets.compare_digest(
            secret, cfg.client_secret
        )

    def token(self, path: str, headers, body: bytes) -> Reply:
        form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        grant = form.get("grant_type", "")
        self.state.count_token(grant or "missing")
        if self.state.faults.take(path, None, token_endpoint=True):
            return json_reply(400, TokenError(400, "invalid_grant", "Token invalid").body)
        if not self._client_ok(headers, form):
            return json_reply(401, {"error": "invalid_client"})
        hard = (headers.get("x-include-refresh-token-hard-expires-in") or "").lower() == "true"
        try:
            if grant == "authorization_code":
                result = self.state.tokens.exchange_code(form.get("code", ""), hard)
            elif grant == "refresh_token":
                result = self.state.tokens.refresh(form.get("refresh_token", ""), hard)
            else:
                raise TokenError(400, "unsupported_grant_type")
        except TokenError as exc:
            return json_reply(exc.status, exc.body)
        reply = json_reply(200, result)
        reply.headers.update({"Cache-Control": "no-cache, no-store", "Pragma": "no-cache"})
        return reply

    def authorize(self, params: dict) -> Reply:
        st = self.state
        redirect = params.get("redirect_uri")
        if params.get("client_id") != st.cfg.client_id or not redirect:
            return json_reply(
                400,
                {
                    "error": "invalid_request",
                    "error_description": "client_id or redirect_uri invalid",
                },
            )
        realm = params.get("realm_id") or next(iter(st.realms), None)
        if realm not in st.realms:
            return json_reply(
                400, {"error": "invalid_request", "error_description": f"unknown realm {realm}"}
            )
        query = {"code": st.issue_authorization_code(realm), "realmId": realm}
        if "state" in params:
            query["state"] = params["state"]
        sep = "&" if "?" in redirect else "?"
        return Reply(302, b"", "text/plain", {"Location": redirect + sep + urlencode(query)})

    def revoke(self, headers, body: bytes) -> Reply:
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            payload = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        if not self._client_ok(headers, {}):
            return json_reply(401, {"error": "invalid_client"})
        token = payload.get("token") if isinstance(payload, dict) else None
        if not token:
            return json_reply(400, {"error": "invalid_request"})
        self.state.tokens.revoke(token)
        return Reply(200, b"", "text/plain")


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, addr, handler, app_factory):
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        super().__init__(addr, handler)
        self.app: SandboxApp = app_factory()

    def process_request(self, request, client_address):
        with self._conns_lock:
            self._conns.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self._conns_lock:
            self._conns.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request, client_address):
        """Stay quiet when a client hangs up; report only real bugs."""
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)

    def drop_connections(self) -> None:
        """Kill keep-alive sockets so a stopped server stops answering on them too."""
        with self._conns_lock:
            conns, self._conns = list(self._conns), set()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "QBOSandbox/1.0"

    def version_string(self) -> str:
        return self.server_version

    timeout = 300

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_HEAD = do_GET

    def _dispatch(self) -> None:
        app: SandboxApp = self.server.app
        url = urlsplit(self.path)
        path = url.path
        params = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        body = self._read_body()
        method = self.command
        try:
            if path.startswith("/v3/"):
                reply = app.v3(method, path, params, self.headers, body)
            elif path == TOKEN_PATH and method == "POST":
                reply = app.token(path, self.headers, body)
            elif path == AUTHORIZE_PATH and method == "GET":
                reply = app.authorize(params)
            elif path == REVOKE_PATH and method == "POST":
                reply = app.revoke(self.headers, body)
            elif path.startswith("/.well-known/openid") and method == "GET":
                reply = json_reply(200, app.discovery())
            elif path.startswith("/_sandbox/"):
                reply = admin.handle(app, method, path, params, body)
            else:
                reply = json_reply(404, {"error": "not_found", "path": path})
        except Exception as exc:  # a sandbox bug must not hang the client
            reply = json_reply(500, {"error": "sandbox_internal_error", "detail": repr(exc)})
        self._send(reply)

    def _read_body(self) -> bytes:
        """Content-Length or chunked; reading exactly keeps keep-alive connections in sync."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, reply: Reply) -> None:
        if reply is RESET:
            self.close_connection = True
            try:
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        self.send_header("intuit_tid", new_tid())
        for key, value in reply.headers.items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD" and reply.body:
            self.wfile.write(reply.body)


class SandboxServer:
    """The sandbox on a background thread. ``port=0`` picks a free port."""

    def __init__(
        self,
        cfg: SandboxConfig | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        state: SandboxState | None = None,
    ):
        self.cfg = cfg or SandboxConfig()
        self.state = state or SandboxState(self.cfg)
        self.host = host
        self.port = port
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> SandboxServer:
        if self._httpd is not None:
            return self
        self._httpd = _HTTPServer(
            (self.host, self.port), _Handler, lambda: SandboxApp(self.state, self)
        )
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"qbo-sandbox:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.drop_connections()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/v3"

    @property
    def token_url(self) -> str:
        return f"{self.url}{TOKEN_PATH}"

    @property
    def authorize_url(self) -> str:
        return f"{self.url}{AUTHORIZE_PATH}"

    @property
    def revoke_url(self) -> str:
        return f"{self.url}{REVOKE_PATH}"
