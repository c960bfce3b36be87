"""PostgreSQL-only helpers for the analytics tests."""

from __future__ import annotations

import json

import pytest
from django.db import connection

from tests.analytics.samples import DELETED_INVOICE, SAMPLES

SCHEMA = "qa_analytics"  # the tests' own schema, so the migrate-made `quickbooks` is left alone


@pytest.fixture
def postgres(db):
    if connection.vendor != "postgresql":
        pytest.skip("analytics views need PostgreSQL (dbt_quickbooks does not support SQLite)")


def fixture_table(entity: str) -> str:
    return f"qa_fx_{entity.lower()}"


@pytest.fixture
def sample_tables(postgres):
    """One table per QBO entity, shaped like a synced model, filled from ``SAMPLES``.

    The test transaction rolls them back. Realm R1 holds the samples; realm R2 one invoice
    that reuses an Id (ids collide across companies).
    """
    tables = {}
    with connection.cursor() as cursor:
        for entity, records in SAMPLES.items():
            name = fixture_table(entity)
            cursor.execute(
                f"CREATE TABLE {name} (id bigserial PRIMARY KEY, realm_id varchar(32), "
                "qb_id varchar(64), sync_token varchar(32), qb_updated_at timestamptz, "
                "raw_data jsonb, created_at timestamptz DEFAULT now(), "
                "updated_at timestamptz DEFAULT now(), deleted_at timestamptz)"
            )
            rows = [("R1", r, None) for r in records]
            if entity == "Invoice":
                rows.append(("R1", DELETED_INVOICE, "2025-03-01T00:00:00Z"))
                rows.append(("R2", {**records[1], "Id": "130", "TotalAmt": 7.0}, None))
            for realm, raw, deleted in rows:
                cursor.execute(
                    f"INSERT INTO {name} (realm_id, qb_id, sync_token, qb_updated_at, raw_data, "
                    "updated_at, deleted_at) VALUES (%s, %s, %s, now(), %s, "
                    "'2025-03-05T12:00:00Z', %s)",
                    [realm, raw["Id"], raw["SyncToken"], json.dumps(raw), deleted],
                )
            tables[entity] = name
    return tables
