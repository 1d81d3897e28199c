"""Intranet delivery against a real HTTP server on 127.0.0.1: Standard Webhooks signatures,
Teams and Slack payloads, how each answer is classified, and SSRF defences."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import re
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass
from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from prometheus_client import CollectorRegistry
from pydantic import SecretStr, ValidationError
from starlette.testclient import TestClient

from tests.servers import NEW_SECRET, NOW, OLD_SECRET, HookServer, Reply, client_ca_file, make_message
from tests.support import DecisionsIn, bundled_defs
from wayfinder.cli.report import write_results
from wayfinder.connectors.addresses import address_refusal
from wayfinder.connectors.base import (
    Accepted,
    ConnectorDeps,
    DeliveryError,
    PermanentDeliveryError,
    RetryableDeliveryError,
    build_connectors,
)
from wayfinder.connectors.links import RecipientLinks
from wayfinder.connectors.payloads import slack_payload
from wayfinder.connectors.settings import DeliverySettings, Destination
from wayfinder.connectors.webhook import WebhookConnector, http_client, parse_retry_after
from wayfinder.journeys.templates import with_footer
from wayfinder.web.app import create_app
from wayfinder.web.backend import EmbeddedBackend, World
from wayfinder.web.settings import WebSettings

T = TypeVar("T")


def run(scenario: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(scenario())


async def send(url: str, message: Any = None, *, resolver: Any = None, **fields: Any) -> Accepted:
    async with httpx.AsyncClient() as client:
        kwargs: dict[str, Any] = {"now": lambda: NOW}
        if resolver is not None:
            kwargs["resolver"] = resolver
        connector = WebhookConnector("portal", Destination.model_validate({"url": url, **fields}), client, **kwargs)
        try:
            return await connector.send(message or make_message(1, channel="intranet"))
        finally:
            await connector.close()


async def failure(url: str, **fields: Any) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        await send(url, **fields)
    return caught.value


# -- signing ---------------------------------------------------------------------------------------------
def test_a_signed_webhook_arrives_and_verifies_with_the_receivers_secret() -> None:
    async def scenario() -> None:
        async with HookServer(secret=NEW_SECRET) as hook:
            accepted = await send(hook.url(), local=True, secrets=[NEW_SECRET])
        assert accepted == Accepted("portal", "200")
        (hit,) = hook.hits
        assert hit.signature_ok is True
        assert hit.headers["webhook-id"] == "m-000000000000000000000001"
        assert hit.headers["content-type"] == "application/json"
        body = hit.json()
        assert body["type"] == "wayfinder.message"
        assert body["timestamp"] == "2026-03-02T09:15:00Z"
        assert body["data"]["id"] == "m-000000000000000000000001"
        assert body["data"]["title"] == "Welcome 1"
        assert body["data"]["recipient_id"] == "E1"

    run(scenario)


def test_an_intranet_host_with_a_private_ca_is_reached_when_its_ca_is_set(tmp_path: Path) -> None:
    """Issue 4: intranet over https. A host whose certificate a private CA signed: trusted with
    WAYFINDER_WEBHOOK_CA_FILE; without it, a permanent error that says what to set (it was retried as a connection
    failure until the give-up); a CA file with no certificate is refused before anything is sent."""
    async def scenario() -> tuple[Accepted, DeliveryError]:
        async with HookServer(secret=NEW_SECRET, tls=True) as hook:
            destination = Destination.model_validate({"url": hook.url(), "local": True, "secrets": [NEW_SECRET]})
            message = make_message(1, channel="intranet")
            settings = DeliverySettings(webhook_ca_file=client_ca_file(tmp_path))
            async with http_client(settings) as client:
                accepted = await WebhookConnector("portal", destination, client, now=lambda: NOW).send(message)
            async with http_client(DeliverySettings()) as client:
                with pytest.raises(DeliveryError) as caught:
                    await WebhookConnector("portal", destination, client, now=lambda: NOW).send(message)
            assert len(hook.hits) == 1  # the second never reached it
            return accepted, caught.value

    accepted, refused = run(scenario)
    assert accepted == Accepted("portal", "200")
    assert isinstance(refused, PermanentDeliveryError) and refused.reason == "http_tls_failed"
    assert "WAYFINDER_WEBHOOK_CA_FILE" in str(refused)
    empty = tmp_path / "empty.pem"
    empty.write_text("no certificate here\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"WAYFINDER_WEBHOOK_CA_FILE: .* holds no PEM CA certificate"):
        http_client(DeliverySettings(webhook_ca_file=empty))


@pytest.mark.parametrize("receiver_secret", [OLD_SECRET, NEW_SECRET])
def test_during_rotation_every_secret_signs_so_either_receiver_verifies(receiver_secret: str) -> None:
    async def scenario() -> None:
        async with HookServer(secret=receiver_secret) as hook:
            await send(hook.url(), local=True, secrets=[NEW_SECRET, OLD_SECRET])
        (hit,) = hook.hits
        assert hit.signature_ok is True
        signatures = hit.headers["webhook-signature"].split(" ")
        assert len(signatures) == 2 and all(s.startswith("v1,") for s in signatures)

    run(scenario)


def test_a_receiver_that_does_not_know_our_secret_is_a_permanent_refusal() -> None:
    async def scenario() -> None:
        async with HookServer(secret=NEW_SECRET) as hook:
            error = await failure(hook.url(), local=True, secrets=[OLD_SECRET])
        assert isinstance(error, PermanentDeliveryError)
        assert error.reason == "http_unauthorized"
        assert "signing secrets" in error.detail

    run(scenario)


# -- payloads ------------------------------------------------------------------------------------------
def test_teams_gets_an_adaptive_card() -> None:
    async def scenario() -> None:
        async with HookServer() as hook:
            await send(hook.url(), local=True, kind="teams")
        body = hook.hits[0].json()
        assert "webhook-signature" not in hook.hits[0].headers
        (attachment,) = body["attachments"]
        assert body["type"] == "message"
        assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
        card = attachment["content"]
        assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4")
        assert card["body"][0]["text"] == "Welcome 1"
        assert [b["text"] for b in card["body"][1:]] == ["Hello 1.", "See the resources."]
        assert card["actions"][0]["url"] == "https://intranet.example.com/preferences"

    run(scenario)


def test_slack_gets_block_kit_escaped_and_within_its_limits() -> None:
    async def scenario() -> None:
        async with HookServer() as hook:
            await send(hook.url(), make_message(2, channel="intranet", text="Tom & Jerry <b>"), local=True,
                       kind="slack")
        body = hook.hits[0].json()
        assert body["text"] == "Welcome 2"
        assert [b["type"] for b in body["blocks"]] == ["header", "section", "actions"]
        assert body["blocks"][1]["text"]["text"] == "Tom &amp; Jerry &lt;b&gt;"

    run(scenario)
    long = slack_payload(make_message(3, subject="S" * 400, text=("word & " * 100 + "\n") * 20))
    sections = [b["text"]["text"] for b in long["blocks"] if b["type"] == "section"]
    assert len(long["blocks"][0]["text"]["text"]) <= 150
    assert len(sections) > 1 and all(0 < len(s) <= 3000 for s in sections)
    assert all(not s.endswith(("&", "&amp", "&am", "&a")) for s in sections)


# -- the reader's own preferences link -------------------------------------------------------------------------
TOKEN_SECRET = SecretStr("token-secret-for-the-intranet-tests")
PAGES = "https://testserver/preferences"  # where ``serve`` answers below (Starlette's TestClient)
_LINK = re.compile(re.escape(PAGES) + r"(?:\?t=[A-Za-z0-9_.-]+)?")


def _posted(kind: str, token_secret: SecretStr | None) -> tuple[Any, str]:
    """What the server received for one intranet message whose text and HTML end in the engine's own footer, sent
    by the connector ``wayfinder deliver`` builds from its settings; and the message's id."""
    text, html = with_footer("Hello 7.\n\nSee the resources.", "<p>Hello 7.</p>", "You received this because …",
                             PAGES, title="Welcome 7")
    message = make_message(7, channel="intranet", text=text, html=html, preferences_url=PAGES)

    async def scenario() -> Any:
        async with HookServer() as hook, httpx.AsyncClient() as client:
            settings = DeliverySettings(destinations={"portal": {"url": hook.url(), "kind": kind, "local": True}},
                                        token_secret=token_secret)
            connector = build_connectors(settings, ConnectorDeps(http=client, now=lambda: NOW))["intranet"]
            await connector.send(message)
        return hook.hits[0].json()

    return run(scenario), message.message_id


def _links_in(kind: str, body: Any) -> list[str]:
    """Every preferences link of the payload: its button or action (a webhook's ``data.preferences_url``), and
    those in its text and HTML footer."""
    if kind == "webhook":
        data = body["data"]
        assert data["html"].count(PAGES) == 1  # the footer's link in the HTML (its ``&`` would be ``&amp;``)
        return [data["preferences_url"], *_LINK.findall(data["text"]), *_LINK.findall(data["html"])]
    if kind == "teams":
        card = body["attachments"][0]["content"]
        return [card["actions"][0]["url"], *(u for b in card["body"] for u in _LINK.findall(b["text"]))]
    button = body["blocks"][-1]["elements"][0]["url"]
    return [button, *(u for b in body["blocks"] if b["type"] == "section" for u in _LINK.findall(b["text"]["text"]))]


@dataclass
class _Pages(DecisionsIn):
    client: TestClient
    out: Path


@pytest.fixture
def pages(tmp_path: Path) -> Iterator[_Pages]:
    """``wayfinder serve`` over a world of one employee (E7), checking links with the same secret."""
    events = tmp_path / "events.jsonl"
    events.write_text(json.dumps({"specversion": "1.0", "id": "up-7", "source": "hris/test",
                                  "type": "hris.employee.upserted", "time": "2026-03-01T09:00:00Z", "subject": "E7",
                                  "data": {"id": "E7", "timezone": "Europe/Berlin"}}) + "\n", encoding="utf-8")
    backend = EmbeddedBackend(tmp_path, World(defs=bundled_defs(), events=events), write=write_results,
                              now=lambda: NOW)
    settings = WebSettings(token_secret=TOKEN_SECRET, session_secret=SecretStr("session-secret-for-the-tests"),
                           cookie_secure=True)
    app = create_app(settings, backend, registry=CollectorRegistry(), now=lambda: NOW)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        yield _Pages(client, tmp_path)


@pytest.mark.parametrize("kind", ["webhook", "teams", "slack"])
def test_an_intranet_post_carries_the_recipients_own_preferences_link(kind: str, pages: _Pages) -> None:
    """As an email's: with WAYFINDER_TOKEN_SECRET every preferences link of an intranet post (its button, and its
    footer) carries the recipient's signed token and opens their preferences page without sign-in (it was the bare
    page, which cannot tell who they are)."""
    body, message_id = _posted(kind, TOKEN_SECRET)
    links = _links_in(kind, body)
    assert len(links) >= 2 and len(set(links)) == 1, links  # the button and the footer: one link
    (link,) = set(links)
    claims = RecipientLinks(TOKEN_SECRET).verify(link.partition("?t=")[2], NOW)
    assert (claims.recipient_id, claims.message_id) == ("E7", message_id)
    page = pages.client.get(link)
    assert page.status_code == 200
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, "the preferences page has no form"
    saved = pages.client.post(link, data={"csrf": found[1], "channel_email": "on"})  # stops intranet posts
    assert 'id="saved"' in saved.text
    [change] = pages.decisions()
    assert (change["type"], change["subject"]) == ("wayfinder.preferences.changed", "E7")
    assert change["data"] == {"opt_out_channels": ["intranet"]}


@pytest.mark.parametrize("kind", ["webhook", "teams", "slack"])
def test_without_a_token_secret_an_intranet_post_keeps_the_link_the_engine_wrote(kind: str) -> None:
    body, _ = _posted(kind, None)
    links = _links_in(kind, body)
    assert len(links) >= 2 and set(links) == {PAGES}


# -- how answers are classified -------------------------------------------------------------------------------
@pytest.mark.parametrize(("reply", "kind", "reason", "retry_after"), [
    (Reply(500), RetryableDeliveryError, "http_server_error", None),
    (Reply(503, {"retry-after": "7"}), RetryableDeliveryError, "http_server_error", 7.0),
    (Reply(429, {"retry-after": "2"}), RetryableDeliveryError, "http_rate_limited", 2.0),
    (Reply(429, {"retry-after": format_datetime(NOW + timedelta(seconds=90), usegmt=True)}),
     RetryableDeliveryError, "http_rate_limited", 90.0),
    (Reply(408), RetryableDeliveryError, "http_timeout", None),
    (Reply(400, body="invalid_payload"), PermanentDeliveryError, "http_rejected", None),
    (Reply(410, body="channel_is_archived"), PermanentDeliveryError, "http_gone", None),
])
def test_answers_are_classified(reply: Reply, kind: type[DeliveryError], reason: str,
                                retry_after: float | None) -> None:
    async def scenario() -> DeliveryError:
        async with HookServer() as hook:
            hook.replies.append(reply)
            return await failure(hook.url(), local=True, kind="slack")

    error = run(scenario)
    assert type(error) is kind
    assert error.reason == reason
    if isinstance(error, RetryableDeliveryError):
        assert error.retry_after == retry_after
    if reply.status == 400:
        assert "400 invalid_payload" in error.detail


def test_teams_throttling_inside_a_200_is_retryable() -> None:
    async def scenario() -> DeliveryError:
        async with HookServer() as hook:
            hook.replies.append(Reply(200, body="Microsoft Teams endpoint returned HTTP error 429 with ContextId x"))
            return await failure(hook.url(), local=True, kind="teams")

    assert run(scenario).reason == "http_rate_limited"


def test_a_server_that_hangs_is_a_retryable_timeout() -> None:
    async def scenario() -> DeliveryError:
        async with HookServer() as hook:
            hook.replies.append(Reply(hang=True))
            return await failure(hook.url(), local=True, kind="slack", timeout_seconds=0.3)

    error = run(scenario)
    assert isinstance(error, RetryableDeliveryError) and error.reason == "http_timeout"


def test_a_redirect_to_an_internal_address_is_refused_and_not_followed() -> None:
    async def scenario() -> tuple[DeliveryError, int]:
        async with HookServer() as hook, HookServer() as internal:
            hook.replies.append(Reply(302, {"location": internal.url("/latest/meta-data?token=x")}))
            error = await failure(hook.url(), local=True, kind="slack")
            return error, len(internal.hits)

    error, internal_hits = run(scenario)
    assert isinstance(error, PermanentDeliveryError) and error.reason == "http_redirect"
    assert "302, a redirect to http://127.0.0.1:" in error.detail
    assert "token" not in error.detail
    assert internal_hits == 0


def test_a_server_that_is_down_is_retryable() -> None:
    async def scenario() -> tuple[str, DeliveryError]:
        async with HookServer() as hook:
            url = hook.url()
        return url, await failure(url, local=True, kind="slack")

    _, error = run(scenario)
    assert isinstance(error, RetryableDeliveryError) and error.reason == "http_connection"


def test_retry_after_is_seconds_or_an_http_date() -> None:
    assert parse_retry_after("120", NOW) == 120.0
    assert parse_retry_after("Mon, 02 Mar 2026 09:16:00 GMT", NOW) == 60.0
    assert parse_retry_after("Mon, 02 Mar 2026 09:00:00 GMT", NOW) == 0.0
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after(None, NOW) is None


# -- SSRF ----------------------------------------------------------------------------------------------------
def resolving_to(*answers: list[str]) -> Callable[[str, int], Awaitable[list[str]]]:
    """A resolver that gives these answers in turn (the last one from then on), like a DNS that changes."""
    calls: list[str] = []

    async def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        return answers[min(len(calls), len(answers)) - 1]

    return resolve


@pytest.mark.parametrize("addresses", [["127.0.0.1"], ["169.254.169.254"], ["::1"], ["fe80::1"], ["0.0.0.0"],  # noqa: S104
                                       ["::ffff:127.0.0.1"], ["224.0.0.1"], ["10.0.0.5"], ["8.8.8.8", "127.0.0.1"]])
def test_a_name_that_resolves_to_an_internal_address_is_refused_before_any_request(addresses: list[str]) -> None:
    async def scenario() -> DeliveryError:
        return await failure("https://hooks.example.test/x", resolver=resolving_to(addresses), kind="slack")

    error = run(scenario)
    assert isinstance(error, PermanentDeliveryError) and error.reason == "destination_refused"
    assert "hooks.example.test" not in error.detail


def test_localhost_is_refused_unless_the_destination_is_marked_local() -> None:
    """The system resolver turns ``localhost`` into a loopback address: refused, unless ``local``."""
    async def scenario() -> tuple[DeliveryError, Accepted, int]:
        async with HookServer() as hook:
            refused = await failure(f"https://localhost:{hook.port}/hook", kind="slack")
            hits_after_refusal = len(hook.hits)
            accepted = await send(f"http://localhost:{hook.port}/hook", local=True, kind="slack")
            return refused, accepted, hits_after_refusal

    refused, accepted, hits_after_refusal = run(scenario)
    assert refused.reason == "destination_refused" and "loopback" in refused.detail
    assert hits_after_refusal == 0
    assert accepted.reference == "200"


def test_every_send_resolves_again_and_connects_to_the_checked_address() -> None:
    """DNS rebinding: the first answer is public, the second is loopback; the second send is refused.
    The network edge is a MockTransport here, because the public address is not reachable from tests."""
    requests: list[httpx.Request] = []

    def network(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200)

    async def scenario() -> DeliveryError:
        resolver = resolving_to(["93.184.215.14"], ["127.0.0.1"])
        async with httpx.AsyncClient(transport=httpx.MockTransport(network)) as client:
            connector = WebhookConnector("portal", Destination.model_validate(
                {"url": "https://hooks.example.test/x", "kind": "slack"}), client, resolver=resolver)
            await connector.send(make_message(1, channel="intranet"))
            with pytest.raises(DeliveryError) as caught:
                await connector.send(make_message(2, channel="intranet"))
            return caught.value

    error = run(scenario)
    assert error.reason == "destination_refused"
    (request,) = requests
    assert request.url.host == "93.184.215.14"
    assert request.headers["host"] == "hooks.example.test"
    assert request.extensions["sni_hostname"] == "hooks.example.test"


@pytest.mark.parametrize(("address", "allow_private", "refusal"), [
    ("8.8.8.8", False, None), ("10.1.2.3", False, "private or reserved"), ("10.1.2.3", True, None),
    ("100.64.0.1", True, None), ("fd00::1", True, None), ("169.254.169.254", True, "link-local"),
    ("127.0.0.1", True, "loopback"), ("::ffff:169.254.169.254", True, "link-local"),
    ("2002:7f00:1::", True, "loopback"), ("64:ff9b::a9fe:a9fe", True, "link-local"), ("ff02::1", True, "multicast"),
    ("::", True, "unspecified"),
])
def test_which_addresses_are_refused(address: str, allow_private: bool, refusal: str | None) -> None:
    assert address_refusal(ipaddress.ip_address(address), allow_private=allow_private) == refusal


# -- settings of destinations -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("fields", "message"), [
    ({"url": "http://hooks.example.com/x", "kind": "slack"}, "must use https"),
    ({"url": "https://169.254.169.254/latest", "kind": "slack"}, "link-local address; refused unless marked local"),
    ({"url": "https://10.0.0.1/x", "kind": "slack"}, "allow_private: true"),
    ({"url": "https://hooks.example.com/x"}, "needs at least one signing secret"),
    ({"url": "https://hooks.example.com/x", "secrets": ["s3cret"]}, "whsec_"),
    ({"url": "https://hooks.example.com/x", "secrets": ["whsec_c2hvcnQ="]}, "at least 16"),
    ({"url": "https://u:p@hooks.example.com/x", "kind": "slack"}, "user:password"),
])
def test_a_bad_destination_is_a_clear_error_that_does_not_print_the_url(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message) as caught:
        DeliverySettings(destinations={"portal": fields})
    assert fields["url"] not in str(caught.value)


def test_a_webhook_url_and_secrets_never_print() -> None:
    token = "T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX"  # noqa: S105 (a made-up webhook token)
    settings = DeliverySettings(destinations={"team": {"url": f"https://hooks.slack.com/services/{token}",
                                                       "kind": "slack", "secrets": [NEW_SECRET]}})
    shown = repr(settings) + str(settings) + json.dumps(settings.model_dump(mode="json"))
    assert token not in shown and NEW_SECRET not in shown
