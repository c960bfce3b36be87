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
from datetime import timedelta

from django.conf import settings

from quickbooks_sync.qbo.client import QBOClient, QueryPage
from quickbooks_sync.registry import COMPANY, EntitySpec
from quickbooks_sync.sync.reader import Digest, EntityReader, Window
from quickbooks_sync.timeutil import TimestampError, parse_qbo_datetime


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


def _versions(page: QueryPage) -> Digest:
    """Id -> SyncToken of every record with an Id, valid or not: a record the sync had
    to skip as malformed is still one QBO has, and must show up as missing here."""
    versions: dict[str, str] = {}
    stamps = []
    for record in page.records:
        if isinstance(record, dict) and record.get("Id") is not None:
            versions[str(record["Id"])] = str(record.get("SyncToken"))
            with contextlib.suppress(KeyError, TypeError, TimestampError):
                stamps.append(parse_qbo_datetime(record["MetaData"]["LastUpdatedTime"]))
    return Digest(len(page.records), max(stamps, default=None), versions)


def _reader(client: QBOClient, spec: EntitySpec, page_size: int | None) -> EntityReader:
    return EntityReader(
        client,
        spec.name,
        include_inactive=spec.has_active,
        page_size=page_size or settings.QB_MAX_RESULTS,
        settle=timedelta(seconds=settings.QB_SETTLE_SECONDS),
        prepare=_versions,
    )


def verify_entity(
    client: QBOClient, spec: EntitySpec, *, ids: bool = False, page_size: int | None = None
) -> EntityCheck:
    if spec.kind == COMPANY:  # one object (or one day of rates): the sync's own read
        from quickbooks_sync.sync.company import verify_fact

        return verify_fact(client, spec)
    reader = _reader(client, spec, page_size)
    local = dict(
        spec.model.objects.live()
        .filter(realm_id=client.realm_id)
        .values_list("qb_id", "sync_token")
    )
    qbo_count = reader.count(reader.where())
    check = EntityCheck(client.realm_id, spec.name, len(local), qbo_count)
    if not ids:
        return check
    remote = read_all_versions(reader)
    unseen = sorted(set(local) - set(remote), key=_id_order)
    for _, page in reader.by_ids(unseen):
        remote.update(_versions(page).payload)
    check.compared_ids = True
    check.qbo_count = len(remote)
    check.missing_locally = sorted(set(remote) - set(local), key=_id_order)
    check.extra_locally = sorted(set(local) - set(remote), key=_id_order)
    check.stale_locally = sorted(
        (i for i in set(local) & set(remote) if local[i] != remote[i]), key=_id_order
    )
    return check


def read_all_versions(reader: EntityReader) -> dict[str, str]:
    """Every (Id -> SyncToken) QBO has up to its settled clock, by the one paging rule
    (``sync.reader``): keyset on time, crowded seconds in Id order between two counts."""
    versions: dict[str, str] = {}
    for item in reader.pages(Window(None)):
        versions.update(item.digest.payload)
    return versions


def _id_order(qb_id: str) -> tuple[int, str]:
    return (int(qb_id), "") if qb_id.isdigit() else (1 << 62, qb_id)
