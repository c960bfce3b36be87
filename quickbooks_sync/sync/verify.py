"""Prove the local copy is whole: compare it with what QBO reports, per realm and entity.

Decision: counts are cheap (one ``COUNT(*)`` per entity) and catch most gaps; ``ids``
mode reads every (Id, SyncToken) from QBO and compares sets, so it also catches a stale
or resurrected row. Read-only: it never writes, so an operator can run it any time.
A row that the full read did not return is asked for by Id before it is reported, so a
record edited during the read is not a false alarm.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from quickbooks_sync.qbo.client import QBOClient
from quickbooks_sync.registry import EntitySpec
from quickbooks_sync.timeutil import TimestampError, format_qbo_datetime, parse_qbo_datetime

ID_CHUNK = 100


@dataclass
class EntityCheck:
    realm_id: str
    entity: str
    local_count: int
    qbo_count: int
    missing_locally: list[str] = field(default_factory=list)  # in QBO, not live here
    extra_locally: list[str] = field(default_factory=list)  # live here, not in QBO
    stale_locally: list[str] = field(default_factory=list)  # SyncToken differs
    compared_ids: bool = False

    @property
    def ok(self) -> bool:
        return (
            self.local_count == self.qbo_count
            and not self.missing_locally
            and not self.extra_locally
            and not self.stale_locally
        )


def _active_clause(spec: EntitySpec) -> str:
    return "Active IN (true, false)" if spec.has_active else ""


def verify_entity(client: QBOClient, spec: EntitySpec, *, ids: bool = False) -> EntityCheck:
    local = dict(
        spec.model.objects.live()
        .filter(realm_id=client.realm_id)
        .values_list("qb_id", "sync_token")
    )
    qbo_count = client.count(spec.name, _active_clause(spec)).total_count or 0
    check = EntityCheck(client.realm_id, spec.name, len(local), qbo_count)
    if not ids:
        return check
    remote = read_all_versions(client, spec)
    unseen = sorted(set(local) - set(remote), key=_id_order)
    remote.update(_versions_by_id(client, spec, unseen))
    check.compared_ids = True
    check.qbo_count = len(remote)
    check.missing_locally = sorted(set(remote) - set(local), key=_id_order)
    check.extra_locally = sorted(set(local) - set(remote), key=_id_order)
    check.stale_locally = sorted(
        (i for i in set(local) & set(remote) if local[i] != remote[i]), key=_id_order
    )
    return check


def read_all_versions(client: QBOClient, spec: EntitySpec, page_size: int = 1000) -> dict:
    """Every (Id -> SyncToken) QBO has, read by keyset on LastUpdatedTime."""
    versions: dict[str, str] = {}
    lo = None
    start = 1
    while True:
        conditions = [c for c in (_active_clause(spec),) if c]
        if lo is not None:
            conditions.append(f"Metadata.LastUpdatedTime >= '{format_qbo_datetime(lo)}'")
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        page = client.query(
            spec.name,
            f"SELECT * FROM {spec.name}{where} ORDERBY Metadata.LastUpdatedTime "
            f"STARTPOSITION {start} MAXRESULTS {page_size}",
        )
        stamps = []
        for record in page.records:
            if isinstance(record, dict) and record.get("Id") is not None:
                versions[str(record["Id"])] = str(record.get("SyncToken"))
                with contextlib.suppress(KeyError, TypeError, TimestampError):
                    stamps.append(parse_qbo_datetime(record["MetaData"]["LastUpdatedTime"]))
        if len(page.records) < page_size:
            return versions
        newest = max(stamps) if stamps else None
        if newest is not None and newest != lo:
            lo, start = newest, 1
        else:
            start += len(page.records)  # a whole page in one second: step by offset


def _versions_by_id(client: QBOClient, spec: EntitySpec, wanted: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for index in range(0, len(wanted), ID_CHUNK):
        chunk = ", ".join(f"'{i}'" for i in wanted[index : index + ID_CHUNK])
        where = " AND ".join(c for c in (_active_clause(spec), f"Id IN ({chunk})") if c)
        page = client.query(spec.name, f"SELECT * FROM {spec.name} WHERE {where} MAXRESULTS 1000")
        for record in page.records:
            if isinstance(record, dict) and record.get("Id") is not None:
                found[str(record["Id"])] = str(record.get("SyncToken"))
    return found


def _id_order(qb_id: str) -> tuple[int, str]:
    return (int(qb_id), "") if qb_id.isdigit() else (1 << 62, qb_id)
