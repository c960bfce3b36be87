"""Records change while a backfill runs: a background thread edits, deletes, voids,
deactivates, creates and bulk-touches records in the sandbox during the sync. After the
sync and one more incremental cycle, the live rows equal the truth.

Safeguards this proves: keyset paging on LastUpdatedTime (an offset pager skips rows that
an edit moves behind the read position), the inclusive ``>=`` cursor bounded by QBO's own
clock, the re-counted same-second pass for bulk edits (``EntitySync._drain_second``), and
deletes via CDC stubs or the reconcile (whose cursor is held until the delete check).
"""

from __future__ import annotations

import random
import threading

import pytest
from django.core.management import call_command

from quickbooks_sync.sandbox import DEFAULT_REALM, SandboxConfig, SandboxServer
from tests.reliability.harness import FULL, compare_orm, record_result, seed_for, size

pytestmark = pytest.mark.django_db(transaction=True)
REALM = DEFAULT_REALM


def test_backfill_while_qbo_changes_then_one_more_cycle_equals_truth(settings):
    seed = seed_for("moving-data")
    rng = random.Random(seed)
    config = SandboxConfig(
        seed=seed % 1000,
        customers=size(60, 1000),
        invoices=size(400, 6000),
        realms=(REALM,),
        throttle=False,
        latency=0.005,
    )
    with SandboxServer(config) as server:
        settings.QB_API_BASE_URL = server.url
        settings.QB_OAUTH_TOKEN_URL = server.token_url
        settings.QB_CLIENT_ID = config.client_id
        settings.QB_CLIENT_SECRET = config.client_secret
        settings.SYNC_LEASE_SECONDS = 3600  # no heartbeat thread writes (in-memory SQLite)
        settings.QB_MAX_RESULTS = size(25, 200)
        st = server.state
        code = st.issue_authorization_code(REALM)
        call_command("bootstrap_tokens", code=code, realm_id=REALM, redirect_uri="http://x/cb")
        stop = threading.Event()
        changes = {"n": 0}

        def mutate() -> None:
            while not stop.wait(0.002):
                invoices = list(st.truth(REALM, "Invoice")["records"])
                customers = list(st.truth(REALM, "Customer")["records"])
                roll = rng.random()
                if roll < 0.45:
                    st.update(REALM, "Invoice", rng.choice(invoices), {"PrivateNote": "moved"})
                elif roll < 0.6:
                    st.delete(REALM, "Invoice", rng.choice(invoices))
                elif roll < 0.65:
                    st.void(REALM, "Invoice", rng.choice(invoices))
                elif roll < 0.75:
                    st.deactivate(REALM, "Customer", rng.choice(customers))
                elif roll < 0.85:
                    st.create(
                        REALM,
                        "Invoice",
                        {
                            "CustomerRef": {"value": rng.choice(customers)},
                            "Line": [
                                {
                                    "Amount": 5.0,
                                    "DetailType": "SalesItemLineDetail",
                                    "SalesItemLineDetail": {"ItemRef": {"value": "1"}},
                                }
                            ],
                        },
                    )
                else:  # a bulk edit: more rows in one second than a page holds
                    st.bulk_touch(REALM, "Invoice", rng.sample(invoices, k=min(60, len(invoices))))
                changes["n"] += 1

        thread = threading.Thread(target=mutate, daemon=True)
        thread.start()
        try:
            call_command("runsync", "--once", "--no-progress")
        finally:
            stop.set()
            thread.join()
        call_command("runsync", "--once", "--no-progress")  # the one more cycle

        comparisons = [compare_orm(server, REALM, e) for e in ("Customer", "Invoice")]
        record_result(
            "records change during backfill" + (" full" if FULL else ""),
            runs=2,
            records=sum(c.records for c in comparisons),
            lost=sum(len(c.lost) for c in comparisons),
            duplicated=sum(c.duplicated for c in comparisons),
            ok=all(c.ok for c in comparisons),
            changes=changes["n"],
            seed=seed,
        )
        assert changes["n"] >= 20, "the data should have moved during the sync"
        for comparison in comparisons:
            assert comparison.ok, f"seed {seed}: {comparison.summary()}"
