"""The QBO HTTP client: envelopes, faults, the 401 refresh, and the one retry layer."""

from __future__ import annotations

import json

import pytest
import requests
import responses

from quickbooks_sync.qbo.client import QBOClient, RetryPolicy
from quickbooks_sync.qbo.errors import (
    ReauthorizationRequired,
    RequestError,
    ServerError,
    ThrottledError,
    TransportError,
)

BASE = "https://qbo.test"
REALM = "9130350000000001"
QUERY_URL = f"{BASE}/v3/company/{REALM}/query"
TIME = "2026-03-02T10:15:04.117-08:00"

AUTH_401 = {
    "warnings": None,
    "intuitObject": None,
    "fault": {
        "error": [
            {
                "message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                "detail": "Token expired: x",
                "code": "3200",
                "element": None,
            }
        ],
        "type": "AUTHENTICATION",
    },
    "report": None,
    "queryResponse": None,
    "batchItemResponse": [],
    "attachableResponse": [],
    "syncErrorResponse": None,
    "requestId": None,
    "time": 1633520295688,
    "status": None,
    "cdcresponse": [],
}
THROTTLE = {
    "Fault": {
        "Error": [
            {
                "Message": "message=ThrottleExceeded; errorCode=003001; statusCode=429",
                "Detail": "The request limit was reached.",
                "code": "3001",
            }
        ],
        "type": "SERVICE",
    },
    "time": TIME,
}


class FakeTokens:
    def __init__(self):
        self.current = "access-1"
        self.refreshes = []
        self.reauth = None

    def access_token(self):
        return self.current

    def refresh(self, stale):
        self.refreshes.append(stale)
        self.current = f"access-{len(self.refreshes) + 1}"
        return self.current

    def mark_needs_reauth(self, reason):
        self.reauth = reason


@pytest.fixture
def tokens():
    return FakeTokens()


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def client(tokens, sleeps):
    return QBOClient(
        REALM,
        base_url=BASE,
        tokens=tokens,
        sleep=sleeps.append,
        retry=RetryPolicy(max_retries=3, backoff_seconds=1, throttle_seconds=60),
    )


def page(entity, rows, **extra):
    body = {
        "QueryResponse": {entity: rows, "startPosition": 1, "maxResults": len(rows), **extra},
        "time": TIME,
    }
    return body


@responses.activate
def test_query_sends_minorversion_accept_and_bearer_and_parses_the_page(client):
    responses.get(
        QUERY_URL,
        json=page("Customer", [{"Id": "1"}, {"Id": "2"}]),
        headers={"intuit_tid": "tid-1"},
    )
    result = client.query("Customer", "SELECT * FROM Customer")
    assert [r["Id"] for r in result.records] == ["1", "2"]
    assert result.server_time.isoformat() == "2026-03-02T18:15:04.117000+00:00"
    sent = responses.calls[0].request
    assert "minorversion=75" in sent.url
    assert sent.headers["Accept"] == "application/json"
    assert sent.headers["Authorization"] == "Bearer access-1"
    assert sent.req_kwargs["timeout"] == (10.0, 60.0)


@responses.activate
def test_empty_answer_has_no_entity_key(client):
    responses.get(QUERY_URL, json={"QueryResponse": {}, "time": TIME})
    assert client.query("Invoice", "SELECT * FROM Invoice").records == []


@responses.activate
def test_count_reads_total_count_and_tolerates_unknown_fields(client):
    responses.get(
        QUERY_URL,
        json={"QueryResponse": {"totalCount": 42, "newThing": 1}, "time": TIME, "extra": {}},
    )
    assert client.count("Invoice").total_count == 42


@responses.activate
def test_cdc_elements_are_found_by_key_not_position(client):
    responses.get(
        f"{BASE}/v3/company/{REALM}/cdc",
        json={
            "CDCResponse": [
                {
                    "QueryResponse": [
                        {
                            "Invoice": [{"Id": "7", "status": "Deleted"}],
                            "startPosition": 1,
                            "maxResults": 1,
                        },
                        {},
                        {"Customer": [{"Id": "1"}], "startPosition": 1, "maxResults": 1},
                    ]
                }
            ],
            "time": TIME,
        },
    )
    result = client.cdc(["Customer", "Invoice"], "2026-03-01T00:00:00+00:00")
    assert result.records["Invoice"][0]["status"] == "Deleted"
    assert result.records["Customer"][0]["Id"] == "1"
    assert result.total == 2


@responses.activate
def test_401_refreshes_once_and_replays(client, tokens):
    responses.get(QUERY_URL, json=AUTH_401, status=401)
    responses.get(QUERY_URL, json=page("Invoice", [{"Id": "1"}]))
    assert len(client.query("Invoice", "SELECT * FROM Invoice").records) == 1
    assert tokens.refreshes == ["access-1"]
    assert responses.calls[1].request.headers["Authorization"] == "Bearer access-2"


@responses.activate
def test_401_after_a_fresh_refresh_means_reauthorise(client, tokens):
    responses.get(QUERY_URL, json=AUTH_401, status=401)
    responses.get(QUERY_URL, json=AUTH_401, status=401)
    with pytest.raises(ReauthorizationRequired, match="bootstrap_tokens"):
        client.query("Invoice", "SELECT * FROM Invoice")
    assert len(tokens.refreshes) == 1
    assert tokens.reauth
    assert len(responses.calls) == 2


@responses.activate
def test_429_honours_retry_after(client, sleeps):
    responses.get(QUERY_URL, json=THROTTLE, status=429, headers={"Retry-After": "7"})
    responses.get(QUERY_URL, json=page("Invoice", []))
    client.query("Invoice", "SELECT * FROM Invoice")
    assert sleeps == [7.0]


@responses.activate
def test_429_without_retry_after_backs_off_with_jitter_toward_60s(client, sleeps):
    for _ in range(3):
        responses.get(QUERY_URL, json=THROTTLE, status=429)
    responses.get(QUERY_URL, json=page("Invoice", []))
    client.query("Invoice", "SELECT * FROM Invoice")
    assert len(sleeps) == 3
    assert sleeps == sorted(sleeps)  # growing
    assert all(0 < s <= 60 for s in sleeps)
    assert sleeps[-1] >= 60 * 0.25 * 0.75


@responses.activate
def test_429_gives_up_after_the_bounded_retries(client, sleeps):
    for _ in range(4):
        responses.get(QUERY_URL, json=THROTTLE, status=429)
    with pytest.raises(ThrottledError) as info:
        client.query("Invoice", "SELECT * FROM Invoice")
    assert info.value.code == "3001"
    assert len(responses.calls) == 4


@pytest.mark.parametrize("status", [500, 502, 503, 504])
@responses.activate
def test_5xx_is_retried_a_bounded_number_of_times(client, sleeps, status):
    for _ in range(4):
        responses.get(QUERY_URL, body="<html>Bad gateway</html>", status=status)
    with pytest.raises(ServerError):
        client.query("Invoice", "SELECT * FROM Invoice")
    assert len(responses.calls) == 4  # 1 + max_retries
    assert len(sleeps) == 3


@responses.activate
def test_connection_errors_and_timeouts_are_retried(client, sleeps):
    responses.get(QUERY_URL, body=requests.ConnectionError("reset by peer"))
    responses.get(QUERY_URL, body=requests.ReadTimeout("slow"))
    responses.get(QUERY_URL, json=page("Invoice", [{"Id": "1"}]))
    assert len(client.query("Invoice", "SELECT * FROM Invoice").records) == 1
    assert len(sleeps) == 2


@responses.activate
def test_truncated_json_on_200_is_retried_then_fails_clearly(client):
    body = json.dumps(page("Invoice", [{"Id": "1"}]))[:30]
    for _ in range(4):
        responses.get(QUERY_URL, body=body, status=200, content_type="application/json")
    with pytest.raises(TransportError, match="not a JSON object"):
        client.query("Invoice", "SELECT * FROM Invoice")


@responses.activate
def test_other_4xx_are_not_retried_and_name_code_and_tid(client, sleeps):
    responses.get(
        QUERY_URL,
        status=400,
        headers={"intuit_tid": "1-abc"},
        json={
            "Fault": {
                "Error": [
                    {
                        "Message": "Error parsing query",
                        "Detail": 'QueryParserError: Encountered "FROM"',
                        "code": "4000",
                    }
                ],
                "type": "ValidationFault",
            },
            "time": TIME,
        },
    )
    with pytest.raises(RequestError) as info:
        client.query("Invoice", "SELECT FROM")
    assert len(responses.calls) == 1 and sleeps == []
    text = str(info.value)
    assert "HTTP 400" in text and "QBO code 4000" in text and "intuit_tid 1-abc" in text


@responses.activate
def test_non_json_error_body_still_maps_to_an_exception(client):
    responses.get(
        QUERY_URL,
        status=403,
        body="<IntuitResponse>nope</IntuitResponse>",
        content_type="application/xml",
    )
    with pytest.raises(RequestError, match="HTTP 403"):
        client.query("Invoice", "SELECT * FROM Invoice")


@responses.activate
def test_403_3100_hints_at_environment(client):
    responses.get(
        QUERY_URL,
        status=403,
        json={
            "fault": {
                "error": [
                    {
                        "message": "message=ApplicationAuthorizationFailed; "
                        "errorCode=003100; statusCode=403",
                        "detail": "",
                        "code": "3100",
                    }
                ],
                "type": "SERVICE",
            }
        },
    )
    with pytest.raises(RequestError, match="QB_ENVIRONMENT"):
        client.query("Invoice", "SELECT * FROM Invoice")


@responses.activate
def test_200_with_fault_is_an_error(client):
    responses.get(
        QUERY_URL,
        json={
            "Fault": {"Error": [{"Message": "boom", "code": "10000"}], "type": "SystemFault"},
            "time": TIME,
        },
    )
    with pytest.raises(RequestError, match="boom"):
        client.query("Invoice", "SELECT * FROM Invoice")
