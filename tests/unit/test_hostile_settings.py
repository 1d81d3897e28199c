"""Smaller hostile inputs (issue 11): a password with special characters never shows in an error, and every
spelling of a local address is refused as a webhook destination."""

from __future__ import annotations

import asyncio
import ipaddress

import httpx
import pytest
from pydantic import ValidationError

from wayfinder.connectors.addresses import address_refusal, literal_address
from wayfinder.connectors.base import PermanentDeliveryError
from wayfinder.connectors.settings import DeliverySettings, Destination
from wayfinder.connectors.webhook import WebhookConnector

SPECIAL = "pa?Zx9#q/w"


@pytest.mark.parametrize("url", [
    f"smtp://user:{SPECIAL}@smtp.example.com:587",
    "smtp://user:p[Zx9q@smtp.example.com",
    "smtp://user:Zx9q@w0rd@smtp.example.com:5o87",
    "smtp://user:Zx9?q=1@smtp.example.com",
])
def test_a_password_with_special_characters_is_never_in_the_error(url: str) -> None:
    with pytest.raises(ValidationError) as caught:
        DeliverySettings(smtp_url=url)
    text = str(caught.value)
    assert "Zx9" not in text and "user:" not in text
    assert "%3F" in text  # says how to write it


@pytest.mark.parametrize("host", [
    "[::127.0.0.1]", "[::ffff:127.0.0.1]", "[::ffff:0:127.0.0.1]", "[64:ff9b::7f00:1]", "[64:ff9b:1::7f00:1]",
    "[2002:7f00:1::]", "[::a9fe:a9fe]", "[::1]", "[::]", "0x7f000001", "2130706433", "127.1", "0177.0.0.1",
    "169.254.169.254", "[fe80::1]", "10.1.2.3",
])
def test_every_spelling_of_a_local_address_is_refused(host: str) -> None:
    with pytest.raises(ValidationError, match="the destination URL points at a"):
        DeliverySettings(destinations={"a": {"kind": "slack", "url": f"https://{host}/hook"}})


@pytest.mark.parametrize(("host", "allow_private", "words"), [
    ("0", False, "points at an unspecified address;"), ("[::]", False, "points at an unspecified address;"),
    ("127.0.0.1", False, "points at a loopback address;"), ("[fd00:ec2::254]", True,
                                                          "points at a cloud metadata service's address;"),
])
def test_the_refusal_reads_as_english(host: str, allow_private: bool, words: str) -> None:
    # it said "points at a unspecified address" and "points at a a cloud metadata service address" (2026-12-06)
    with pytest.raises(ValidationError, match=words):
        DeliverySettings(destinations={"a": {"kind": "slack", "url": f"https://{host}/hook",
                                             "allow_private": allow_private}})


@pytest.mark.parametrize("host", ["hooks.example.com", "[2606:4700::1111]", "1.1.1.1"])
def test_public_hosts_pass(host: str) -> None:
    DeliverySettings(destinations={"a": {"kind": "slack", "url": f"https://{host}/hook"}})


def test_resolved_addresses_are_checked_the_same_way() -> None:
    assert address_refusal(ipaddress.ip_address("::127.0.0.1")) == "loopback"
    assert literal_address("127.1") == ipaddress.ip_address("127.0.0.1")
    assert literal_address("hooks.example.com") is None


@pytest.mark.parametrize("address", ["fd00:ec2::254", "100.100.100.200", "192.0.0.192"])
def test_cloud_metadata_services_are_refused_even_where_private_addresses_are_allowed(address: str) -> None:
    # the setting says allow_private never admits a metadata address; these passed (192.0.0.192 even without it)
    ip = ipaddress.ip_address(address)
    assert address_refusal(ip, allow_private=True) == address_refusal(ip) == "a cloud metadata service"
    assert address_refusal(ipaddress.ip_address("10.1.2.3"), allow_private=True) is None  # a private host still may


def test_a_name_resolving_to_a_refused_address_says_so_in_english() -> None:
    async def to_unspecified(host: str, port: int) -> list[str]:
        return ["::"]

    async def scenario() -> str:
        async with httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(200))) as client:
            connector = WebhookConnector("portal", Destination.model_validate(
                {"url": "https://hooks.example.test/x", "kind": "slack"}), client, resolver=to_unspecified)
            try:
                await connector._route(httpx.URL("https://hooks.example.test/x"))
            except PermanentDeliveryError as e:
                return e.detail
        return "not refused"

    assert "resolves to an unspecified address; refused" in asyncio.run(scenario())
