"""Responses are read under a byte cap and an overall deadline (quickbooks_sync/qbo/http.py).

The servers here are raw sockets on loopback. Deadlines are small and the assertions are
on the error raised, never on how long it took; the trickling server stops as soon as
the client hangs up, and a generous read timeout shows the deadline, not a socket
timeout, ended the request.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from quickbooks_sync.qbo.errors import ResponseTooLargeError, TransportError
from quickbooks_sync.qbo.http import Limits, new_session, send

GENEROUS = (5.0, 30.0)  # connect, read: far longer than the deadlines under test


@contextmanager
def loopback_server(serve: Callable[[socket.socket], None]) -> Iterator[str]:
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def run() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                try:
                    conn.recv(65536)  # the request
                    serve(conn)
                except OSError:
                    pass  # the client hung up: what the deadline and the cap do

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/v3/company/1/query"
    finally:
        stop.set()
        listener.close()
        thread.join(timeout=30)


def trickle(first: bytes, then: bytes) -> Callable[[socket.socket], None]:
    """Send ``first``, then ``then`` one byte at a time until the client hangs up."""

    def serve(conn: socket.socket) -> None:
        conn.sendall(first)
        blocked = threading.Event()
        for i in range(100_000):
            conn.sendall(then[i % len(then) : i % len(then) + 1])
            blocked.wait(0.02)

    return serve


def test_a_body_trickled_a_byte_at_a_time_is_cut_off_by_the_deadline():
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
    with loopback_server(trickle(head, b" ")) as url:
        session = new_session(Limits(deadline_seconds=0.5))
        with pytest.raises(TransportError, match="deadline"):
            send(session, "GET", url, timeout=GENEROUS)


def test_headers_trickled_a_byte_at_a_time_are_cut_off_by_the_deadline():
    with loopback_server(trickle(b"HTTP/1.1 200 OK\r\n", b"X-Slow: a\r\n")) as url:
        session = new_session(Limits(deadline_seconds=0.5))
        with pytest.raises(TransportError, match="QB_REQUEST_DEADLINE_SECONDS"):
            send(session, "GET", url, timeout=GENEROUS)


def test_a_declared_oversized_body_is_refused_before_it_is_read():
    def serve(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1073741824\r\n\r\n" + b" " * 4096)

    session = new_session(Limits(max_bytes=2048))
    with (
        loopback_server(serve) as url,
        pytest.raises(ResponseTooLargeError, match="QB_MAX_RESPONSE_BYTES"),
    ):
        send(session, "GET", url, timeout=GENEROUS)


def test_an_undeclared_oversized_body_is_cut_off_at_the_cap():
    def serve(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
        for _ in range(10_000):  # up to 40 MB if nobody stops it
            conn.sendall(b" " * 4096)

    session = new_session(Limits(max_bytes=64 * 1024))
    with loopback_server(serve) as url, pytest.raises(ResponseTooLargeError, match="kept sending"):
        send(session, "GET", url, timeout=GENEROUS)


def test_a_normal_answer_is_read_whole_and_the_session_is_reusable():
    body = b'{"QueryResponse": {}, "time": "2026-01-01T00:00:00Z"}'

    def serve(conn: socket.socket) -> None:
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
        )

    with loopback_server(serve) as url:
        session = new_session(Limits(max_bytes=len(body), deadline_seconds=30))
        for _ in range(2):
            response = send(session, "GET", url, timeout=GENEROUS)
            assert response.json()["QueryResponse"] == {}


def test_limits_come_from_settings(settings):
    from quickbooks_sync.qbo.http import limits_from_settings

    settings.QB_MAX_RESPONSE_BYTES = 4096
    settings.QB_REQUEST_DEADLINE_SECONDS = 7.5
    assert limits_from_settings() == Limits(max_bytes=4096, deadline_seconds=7.5)
