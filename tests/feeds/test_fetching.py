"""One GET against a real server on 127.0.0.1: conditional requests, redirects, limits,
slow and endless answers, statuses, and addresses refused before any connection."""

from __future__ import annotations

import gzip
from collections.abc import Iterator

import pytest

from assistant.feeds.addresses import networks
from assistant.feeds.fetching import FetchError, FetchOptions, fetch, retry_after
from tests.feeds.site import NewsSite, Route

#: Loopback is private: the tests allow it, as ASSISTANT_FEED_ALLOW_PRIVATE=true does.
OPTIONS = FetchOptions(
    timeout=5.0, max_bytes=256 * 1024, user_agent="test-agent/1", allow_private=True
)


@pytest.fixture(scope="module")
def site() -> Iterator[NewsSite]:
    with NewsSite.running() as running:
        yield running


def test_a_second_request_with_the_validators_is_answered_304(site: NewsSite) -> None:
    site.set("/same.xml", Route(b"<rss version='2.0'><channel></channel></rss>", "text/xml"))
    first = fetch(f"{site.url}/same.xml", OPTIONS)
    assert first.status == 200 and first.body.startswith(b"<rss")
    assert first.etag and first.last_modified
    again = fetch(
        f"{site.url}/same.xml", OPTIONS, etag=first.etag, last_modified=first.last_modified
    )
    assert again.not_modified and again.body == b"" and again.etag == first.etag
    logged = site.requests("/same.xml")
    assert [r.status for r in logged] == [200, 304]
    assert logged[1].if_none_match == first.etag
    assert logged[1].if_modified_since == first.last_modified
    assert all(r.user_agent == "test-agent/1" for r in logged)


@pytest.mark.parametrize(("status", "words"), [(404, "HTTP 404 Not Found"), (500, "HTTP 500")])
def test_an_error_status_is_a_clear_error(site: NewsSite, status: int, words: str) -> None:
    site.set(f"/status-{status}", Route(b"nope", status=status))
    with pytest.raises(FetchError, match=words) as raised:
        fetch(f"{site.url}/status-{status}", OPTIONS)
    assert raised.value.status == status and not raised.value.slow_down


def test_429_and_503_carry_their_retry_after(site: NewsSite) -> None:
    site.set("/busy", Route(b"", status=429, headers={"Retry-After": "120"}))
    with pytest.raises(FetchError, match="asks to wait 120 s") as raised:
        fetch(f"{site.url}/busy", OPTIONS)
    assert raised.value.slow_down and raised.value.retry_after == 120
    site.set("/down", Route(b"", status=503))
    with pytest.raises(FetchError, match="HTTP 503") as down:
        fetch(f"{site.url}/down", OPTIONS)
    assert down.value.slow_down and down.value.retry_after is None


def test_retry_after_as_a_date() -> None:
    import datetime as dt

    now = dt.datetime(2025, 12, 1, 8, 0, tzinfo=dt.UTC)
    assert retry_after("Mon, 01 Dec 2025 08:10:00 GMT", now) == 600
    assert retry_after("garbage", now) is None
    assert retry_after(None, now) is None


def test_redirects_are_followed_to_the_final_url(site: NewsSite) -> None:
    site.set("/final", Route(b"<html>final</html>"))
    site.set("/hop-2", Route(redirect="/final"))
    site.set("/hop-1", Route(redirect=f"{site.url}/hop-2"))
    fetched = fetch(f"{site.url}/hop-1", OPTIONS)
    assert fetched.url == f"{site.url}/final" and fetched.body == b"<html>final</html>"
    assert fetched.redirects == [f"{site.url}/hop-1", f"{site.url}/hop-2"]


def test_a_redirect_loop_is_named_as_one(site: NewsSite) -> None:
    site.set("/loop-a", Route(redirect="/loop-b"))
    site.set("/loop-b", Route(redirect="/loop-a"))
    with pytest.raises(FetchError, match=r"redirect loop: .*/loop-a → .*/loop-b → .*/loop-a"):
        fetch(f"{site.url}/loop-a", OPTIONS)
    assert len(site.requests("/loop-a")) == 1  # stopped at the repeat, not at the limit


def test_too_many_redirects_stop(site: NewsSite) -> None:
    for n in range(10):
        site.set(f"/chain-{n}", Route(redirect=f"/chain-{n + 1}"))
    with pytest.raises(FetchError, match="redirects more than 5 times"):
        fetch(f"{site.url}/chain-0", OPTIONS)


def test_a_redirect_to_another_scheme_is_refused(site: NewsSite) -> None:
    site.set("/to-file", Route(redirect="file:///etc/passwd"))
    with pytest.raises(FetchError, match="only http and https"):
        fetch(f"{site.url}/to-file", OPTIONS)


def test_private_addresses_are_refused_before_connecting(site: NewsSite) -> None:
    site.set("/private", Route(b"secret"))
    strict = FetchOptions(timeout=5.0, allow_private=False)
    with pytest.raises(FetchError, match=r"refused: 127\.0\.0\.1 is a loopback address"):
        fetch(f"{site.url}/private", strict)
    with pytest.raises(FetchError, match=r"refused: localhost \(127\.0\.0\.1\) is a loopback"):
        fetch(f"{site.url.replace('127.0.0.1', 'localhost')}/private", strict)
    assert site.requests("/private") == []  # no connection was made


def test_every_redirect_is_checked_too(site: NewsSite) -> None:
    # 127.0.0.1 alone is allowed (its network named); its redirect to 127.0.0.2, another
    # loopback address, is refused before connecting.
    port = site.url.rsplit(":", 1)[1]
    site.set("/inside", Route(redirect=f"http://127.0.0.2:{port}/private"))
    site.set("/private", Route(b"secret"))
    narrow = FetchOptions(timeout=5.0, allowed_networks=networks("127.0.0.1/32"))
    with pytest.raises(FetchError, match=r"refused: 127\.0\.0\.2 is a loopback address"):
        fetch(f"{site.url}/inside", narrow)
    assert len(site.requests("/inside")) == 1
    assert site.requests("/private") == []


def test_a_body_declared_too_large_is_not_read(site: NewsSite) -> None:
    site.set("/huge", Route(b"", behaviour="huge"))
    with pytest.raises(FetchError, match="53,687,091,200 bytes, over the 262,144-byte limit"):
        fetch(f"{site.url}/huge", OPTIONS)


def test_an_endless_body_is_cut_at_the_limit(site: NewsSite) -> None:
    site.set("/endless", Route(b"", behaviour="endless"))
    with pytest.raises(FetchError, match="over the 262,144-byte limit; not read on"):
        fetch(f"{site.url}/endless", OPTIONS)


def test_a_trickling_answer_is_cut_at_the_timeout(site: NewsSite) -> None:
    site.set("/trickle", Route(b"", behaviour="trickle"))
    quick = FetchOptions(timeout=2.0, allow_private=True)
    with pytest.raises(FetchError, match="took longer than 2 s"):
        fetch(f"{site.url}/trickle", quick)


def test_a_server_that_never_answers_is_cut_at_the_timeout(site: NewsSite) -> None:
    site.set("/hang", Route(b"", behaviour="hang"))
    quick = FetchOptions(timeout=2.0, allow_private=True)
    with pytest.raises(FetchError, match="took longer than 2 s"):
        fetch(f"{site.url}/hang", quick)


def test_gzip_is_inflated_within_the_limit(site: NewsSite) -> None:
    site.set("/gz", Route(gzip.compress(b"<rss/>"), headers={"Content-Encoding": "gzip"}))
    assert fetch(f"{site.url}/gz", OPTIONS).body == b"<rss/>"
    bomb = gzip.compress(b"\0" * (20 * 1024 * 1024))  # 20 MB in about 20 KB
    site.set("/bomb", Route(bomb, headers={"Content-Encoding": "gzip"}))
    with pytest.raises(FetchError, match="once decompressed over"):
        fetch(f"{site.url}/bomb", OPTIONS)


def test_nothing_listening_is_a_clear_error() -> None:
    from tests.servers import free_port

    with pytest.raises(FetchError, match="cannot connect"):
        fetch(f"http://127.0.0.1:{free_port()}/feed", OPTIONS)
