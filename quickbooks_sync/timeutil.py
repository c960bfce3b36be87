"""QBO timestamps as aware UTC datetimes.

Decision: every timestamp that crosses our boundary (record ``MetaData``, the envelope
``time``, cursors) is parsed to an aware UTC datetime before it is compared or stored.
QBO stamps records in the company's zone (``-08:00``, ``-07:00`` across DST) and other
sources use ``Z``; comparing the strings is a known data-loss bug in other connectors.
"""

from __future__ import annotations

from datetime import UTC, datetime


class TimestampError(ValueError):
    """A value that should be an ISO-8601 timestamp with a UTC offset is not one."""


def parse_qbo_datetime(value: object) -> datetime:
    """Parse a QBO timestamp (``2026-02-17T14:03:09-08:00``, ``...Z``, ``...-0800``).

    A timestamp without an offset is refused: guessing the zone is how rows go missing.
    """
    if not isinstance(value, str) or not value:
        raise TimestampError(f"expected an ISO-8601 timestamp string, got {type(value).__name__}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise TimestampError(f"{value[:40]!r} is not an ISO-8601 timestamp") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise TimestampError(f"{value[:40]!r} has no UTC offset")
    return parsed.astimezone(UTC)


def format_qbo_datetime(value: datetime) -> str:
    """Render an aware datetime as a query literal: whole seconds, explicit UTC offset.

    QBO compares literals that carry an offset as instants (API-NOTES §2), so UTC with an
    explicit ``+00:00`` is exact whatever the company's zone.
    """
    if value.tzinfo is None:
        raise TimestampError("refusing to format a naive datetime")
    return value.astimezone(UTC).replace(microsecond=0).isoformat()


def floor_second(value: datetime) -> datetime:
    return value.replace(microsecond=0)
