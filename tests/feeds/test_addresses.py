"""Which feed URLs are accepted, how they are kept, and which addresses are refused."""

from __future__ import annotations

import ipaddress

import pytest

from assistant.feeds.addresses import (
    UrlRefusedError,
    entry_link,
    feed_url,
    literal_refusal,
    networks,
    refusal,
    shown,
)


def test_a_feed_url_is_kept_in_one_form() -> None:
    assert feed_url("  HTTPS://News.Example.COM:443/rss?x=1#top ") == (
        "https://news.example.com/rss?x=1"
    )
    assert feed_url("http://news.example:8080") == "http://news.example:8080/"
    assert feed_url("http://[2001:db8::1]/feed") == "http://[2001:db8::1]/feed"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("", "empty"),
        ("ftp://news.example/rss", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("news.example/rss", "without a scheme"),
        ("http:///rss", "no host"),
        ("http://user:secret@news.example/rss", "passwords"),
        ("http://news.example:99999/rss", "not valid"),
        ("http://news.example/a b", "white space"),
        ("http://news.example/" + "a" * 3000, "characters"),
    ],
)
def test_unusable_feed_urls_are_refused_with_the_reason(url: str, reason: str) -> None:
    with pytest.raises(UrlRefusedError, match=reason):
        feed_url(url)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("192.168.0.10", "private"),
        ("172.16.5.4", "private"),
        ("fd00::1", "private"),
        ("169.254.169.254", "link-local"),  # the cloud metadata service
        ("fe80::1", "link-local"),
        ("0.0.0.0", "not a unicast address"),
        ("224.0.0.1", "not a unicast address"),
        ("100.64.0.1", "not a public address"),  # carrier-grade NAT
        ("93.184.215.14", None),
        ("2606:4700::6810:84e5", None),
    ],
)
def test_addresses_off_the_public_internet_are_refused(address: str, reason: str | None) -> None:
    found = refusal(ipaddress.ip_address(address))
    assert (found is None) if reason is None else (found is not None and reason in found)


def test_allowed_networks_let_their_addresses_through_and_no_others() -> None:
    allowed = networks("10.8.0.0/16, 192.168.1.7")
    assert refusal(ipaddress.ip_address("10.8.3.4"), allowed) is None
    assert refusal(ipaddress.ip_address("192.168.1.7"), allowed) is None
    assert refusal(ipaddress.ip_address("10.9.0.1"), allowed) == "a private address"
    assert refusal(ipaddress.ip_address("127.0.0.1"), allowed) == "a loopback address"


def test_hosts_written_as_addresses_are_checked_when_a_feed_is_added() -> None:
    assert literal_refusal("localhost") == "a loopback address"
    assert literal_refusal("feeds.localhost") == "a loopback address"
    assert literal_refusal("[::1]") == "a loopback address"
    assert literal_refusal("10.0.0.5") == "a private address"
    assert literal_refusal("news.example") is None  # names are checked when fetched


def test_entry_links_are_compared_without_fragments_or_tracking() -> None:
    base = "https://news.example/feed.xml"
    assert entry_link("/a?id=7&utm_source=rss&utm_medium=feed#comments", base) == (
        "https://news.example/a?id=7"
    )
    assert entry_link("https://news.example/a?id=7", base) == "https://news.example/a?id=7"
    assert entry_link("mailto:desk@news.example", base) is None
    assert entry_link("javascript:alert(1)", base) is None


def test_urls_in_messages_and_pages_leave_out_their_query() -> None:
    assert shown("https://news.example/feed?token=s3cret") == "https://news.example/feed?…"
    assert shown("http://127.0.0.1:8080/rss") == "http://127.0.0.1:8080/rss"
