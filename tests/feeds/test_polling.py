"""Polling feeds into a real index with the real model, against the loopback news site.

A first poll ingests every entry as one index version and the questions are answered from
it; a re-poll of an unchanged feed is one conditional request answered 304; an entry whose
page changed updates its article (the same id); a feed that renews its entry ids brings
nothing twice. Then every bad case: each leaves a clear ``last_error`` on its feed, the
other feeds and the questions go on, and nothing of it is ingested.
"""

from __future__ import annotations

import datetime as dt

import pytest

from assistant.config import Settings
from assistant.feeds.poller import FeedPoller
from assistant.feeds.polling import ENTRY_ATTEMPTS, poll_feed
from assistant.feeds.subscriptions import Subscriptions, poll_now
from assistant.index.store.records import FeedEntryRecord, FeedRecord
from assistant.service import AssistantService
from tests.feeds.conftest import subscribe
from tests.feeds.site import Entry, NewsSite, Route, news_article, news_articles, page_html

pytestmark = pytest.mark.slow

VALUED = "What is the new US TikTok company valued at?"  # article 38: $14 billion
FINALISED = "When will the TikTok joint venture deal be finalised?"  # 38: January 22
GALLIUM = "Until when is China's ban on gallium and germanium exports to the US suspended?"


def answer(service: AssistantService, question: str) -> str:
    return service.ask(question).answer.text or ""


def from_site(service: AssistantService, site: NewsSite) -> dict[str, str]:
    """URL → article id of the articles that came from the site."""
    return {a.url: a.id for a in service.articles() if a.url and a.url.startswith(site.url)}


def feed_of(service: AssistantService, feed_id: int) -> FeedRecord:
    found = service.backend.feeds.feed(feed_id)
    assert found is not None
    return found


def test_a_first_poll_ingests_all_39_articles_as_one_version_and_they_answer(
    feed_service: AssistantService, feed_settings: Settings, site: NewsSite
) -> None:
    items = news_articles()
    site.feed("/all.xml", [Entry(i) for i in items], title="Loopback News")
    feed = subscribe(feed_service, feed_settings, f"{site.url}/all.xml")
    before = feed_service.health()

    report = poll_now(feed_service, feed_settings, feed.id)

    assert report.status == "ingested", report
    assert (report.added, report.updated, report.failed) == (39, 0, 0)
    assert report.requests == 40  # the feed and each page once
    assert report.index_version == before.index_version + 1  # one version for all 39
    assert feed_service.health().articles == before.articles + 39
    state = feed_of(feed_service, feed.id)
    assert state.title == "Loopback News" and state.articles == 39
    assert state.last_error is None and state.failures == 0 and state.etag
    assert state.last_ok == state.last_checked and state.next_poll is not None
    log = [e for e in feed_service.ingest_log(200) if e.origin == "feed"]
    assert len(log) == 39 and {e.version for e in log} == {report.index_version}

    # Each article: its page's URL (its id), the entry's title and date, the page's site name.
    ids = from_site(feed_service, site)
    assert set(ids) == {site.url + i.path for i in items}
    for item in items:
        record = feed_service.article(ids[site.url + item.path])
        assert record is not None and record.text is not None
        assert record.title == item.article.title
        # trafilatura writes some site names in title case ("theSun" -> "Thesun").
        assert (record.source or "").casefold() == (item.article.source or "").casefold()
        if item.article.published:
            assert record.published == item.article.published
        assert item.article.text.split("\n\n")[1][:60] in record.text
    # Undated where neither the entry, the page nor the text gives a date: never the time
    # of polling.
    undated = [i for i in items if not i.article.published]
    assert undated
    for item in undated:
        record = feed_service.article(ids[site.url + item.path])
        assert record is not None and record.published is None
    assert "$14 billion" in answer(feed_service, VALUED)
    assert "November 27 2026" in answer(feed_service, GALLIUM)  # article 25
    cited = feed_service.ask(VALUED).citations[0].passage
    assert cited.url == site.url + news_article(38).path

    # Nothing new: one conditional request, answered 304, and no new version.
    site.clear_log()
    again = poll_now(feed_service, feed_settings, feed.id)
    assert again.status == "not_modified" and again.requests == 1
    (request,) = site.log
    assert request.path == "/all.xml" and request.status == 304
    assert request.if_none_match == state.etag and request.if_modified_since
    assert request.user_agent == feed_settings.feed_user_agent
    assert feed_service.health().index_version == report.index_version
    assert feed_of(feed_service, feed.id).last_error is None


def test_on_each_backend_an_edited_entry_updates_its_article_in_place(
    any_feed_service: AssistantService, any_feed_settings: Settings, site: NewsSite
) -> None:
    service, settings = any_feed_service, any_feed_settings
    items = [news_article(25), news_article(38), news_article(39)]
    path = f"/edits-{settings.backend}.xml"
    pages = [f"/{settings.backend}{i.path}" for i in items]  # this backend's own pages

    def entries(revisions: list[int], prefix: str = "") -> list[Entry]:
        return [
            Entry(i, link=page, revision=r, guid=prefix + page if prefix else None)
            for i, page, r in zip(items, pages, revisions, strict=True)
        ]

    site.feed(path, entries([0, 0, 0]))
    feed = subscribe(service, settings, site.url + path)
    first = poll_now(service, settings, feed.id)
    assert (first.status, first.added) == ("ingested", 3)
    ids = from_site(service, site)
    deal = ids[site.url + pages[1]]
    assert "January 22" in answer(service, FINALISED)

    # The outlet corrects article 38 and marks its entry edited; the others stay as they are.
    corrected = items[1].article.text.replace("January 22", "January 29")
    assert corrected != items[1].article.text
    site.set(pages[1], Route(page_html(items[1], corrected)))
    site.feed(path, entries([0, 1, 0]))
    site.clear_log()
    version = service.health().index_version
    second = poll_now(service, settings, feed.id)

    assert (second.status, second.added, second.updated) == ("ingested", 0, 1)
    assert second.index_version == version + 1
    assert [r.path for r in site.log] == [path, pages[1]]  # only the edited entry's page
    assert site.log[1].if_none_match  # asked conditionally
    assert from_site(service, site)[site.url + pages[1]] == deal  # the same article
    article = service.article(deal)
    assert article is not None and article.text is not None
    assert "January 29" in article.text and "January 22" not in article.text
    assert "January 29" in answer(service, FINALISED)
    assert service.health().articles == len(service.articles())

    # An edited entry whose page did not change costs a 304 for the page, nothing more.
    site.feed(path, entries([2, 1, 0]))
    site.clear_log()
    third = poll_now(service, settings, feed.id)
    assert third.status == "unchanged" and third.index_version is None
    assert [(r.path, r.status) for r in site.log] == [(path, 200), (pages[0], 304)]

    # New entry ids for the same links: matched by link, nothing fetched or ingested again.
    site.feed(path, entries([2, 1, 0], prefix="urn:moved:"))
    site.clear_log()
    fourth = poll_now(service, settings, feed.id)
    assert fourth.status == "unchanged" and [r.path for r in site.log] == [path]
    assert service.health().index_version == version + 1
    state = feed_of(service, feed.id)
    assert state.last_error is not None
    assert "3 entries came back under new ids; matched to their articles by link" in (
        state.last_error
    )
    assert state.articles == 3 and len(from_site(service, site)) == 3


def test_bad_feeds_break_nothing_and_each_says_what_is_wrong(
    feed_service: AssistantService, feed_settings: Settings, site: NewsSite
) -> None:
    good = [news_article(38)]
    site.feed("/good.xml", [Entry(i) for i in good])
    site.set("/malformed.xml", Route(b'<?xml version="1.0"?>\n<rss><channel><item>\n</rss>'))
    site.set("/missing.xml", Route(b"gone", status=404))
    site.set("/broken.xml", Route(b"oops", status=500))
    site.set("/busy.xml", Route(b"", status=429, headers={"Retry-After": "7200"}))
    site.set("/loop-1.xml", Route(redirect="/loop-2.xml"))
    site.set("/loop-2.xml", Route(redirect="/loop-1.xml"))
    site.set("/page.xml", Route(page_html(news_article(1))))
    site.set("/huge.xml", Route(b"", behaviour="huge"))
    site.set("/endless.xml", Route(b"", behaviour="endless"))
    site.set("/slow.xml", Route(b"", behaviour="trickle"))
    expected = {
        "/malformed.xml": "not well-formed XML (mismatched tag at line 3",
        "/missing.xml": "answered HTTP 404 Not Found",
        "/broken.xml": "answered HTTP 500 Internal Server Error",
        "/busy.xml": "answered HTTP 429 Too Many Requests; it asks to wait 7200 s",
        "/loop-1.xml": "redirect loop: ",
        "/page.xml": "not an RSS or Atom feed (text/html)",
        "/huge.xml": "bytes, over the 10,485,760-byte limit; not read on",
        "/endless.xml": "is over the 10,485,760-byte limit; not read on",
        "/slow.xml": "took longer than 4 s; stopped waiting",
    }
    subscriptions = Subscriptions(feed_service.backend, feed_settings)
    bad = {path: subscriptions.add(site.url + path)[0] for path in expected}
    healthy = subscriptions.add(site.url + "/good.xml")[0]
    before = feed_service.health()

    poller = FeedPoller(feed_service, feed_settings)
    assert poller.poll_due() == len(expected) + 1

    # The good feed went in, as one version; nothing of the bad ones did.
    assert feed_service.health().index_version == before.index_version + 1
    assert feed_service.health().articles == before.articles + 1
    assert feed_of(feed_service, healthy.id).last_error is None
    assert feed_of(feed_service, healthy.id).articles == 1
    assert "$14 billion" in answer(feed_service, VALUED)
    now = dt.datetime.now(dt.UTC)
    for path, words in expected.items():
        state = feed_of(feed_service, bad[path].id)
        assert state.last_error is not None and words in state.last_error, (path, state)
        assert state.failures == 1 and state.articles == 0 and state.etag is None
        assert state.last_checked is not None and state.last_ok is None
        wait = (dt.datetime.fromisoformat(state.next_poll or "") - now).total_seconds()
        # Backed off: twice the interval, or what Retry-After asked for.
        assert wait > (7200 if path == "/busy.xml" else 1800) * 0.85, (path, wait)
    assert poller.poll_due() == 0  # none is due again yet


def test_bad_pages_fail_alone_are_retried_then_given_up(
    feed_service: AssistantService, feed_settings: Settings, site: NewsSite
) -> None:
    fine, missing, menu, looping, with_content = (news_article(n) for n in (20, 21, 22, 23, 24))
    site.publish(fine)
    site.set(missing.path, Route(b"", status=404))
    site.set(menu.path, Route(b"<html><body><nav><a href='/'>Home</a></nav></body></html>"))
    site.set(looping.path, Route(redirect=looping.path))
    site.set(with_content.path, Route(b"<html><body><p>Subscribe!</p></body></html>"))
    entries = [
        Entry(fine),
        Entry(missing),
        Entry(menu),
        Entry(looping),
        Entry(with_content, full_content=True),  # its page is no article; the feed has it all
    ]
    site.feed("/pages.xml", entries)
    feed = subscribe(feed_service, feed_settings, f"{site.url}/pages.xml")

    report = poll_now(feed_service, feed_settings, feed.id)
    assert (report.status, report.added, report.failed) == ("ingested", 2, 3)
    ids = from_site(feed_service, site)
    assert set(ids) == {site.url + fine.path, site.url + with_content.path}
    whole = feed_service.article(ids[site.url + with_content.path])
    assert whole is not None and whole.text is not None
    assert with_content.article.text.split("\n\n")[1][:60] in whole.text
    state = feed_of(feed_service, feed.id)
    assert state.last_error is not None
    assert "answered HTTP 404 Not Found" in state.last_error
    assert "no article text found in the HTML page" in state.last_error
    assert "redirect loop" in state.last_error
    assert state.etag is None  # read again next time, for the entries to retry
    entries_now = feed_service.backend.feeds.feed_entries(feed.id)
    assert sum(1 for e in entries_now.values() if e.article_id is None) == 3

    # Retried at the next polls (the feed is read again), given up after ENTRY_ATTEMPTS.
    for attempt in range(2, ENTRY_ATTEMPTS + 1):
        site.clear_log()
        poll_now(feed_service, feed_settings, feed.id)
        fetched = {r.path for r in site.log}
        assert {missing.path, menu.path, looping.path} <= fetched, attempt
        assert fine.path not in fetched
    site.clear_log()
    last = poll_now(feed_service, feed_settings, feed.id)
    # Nothing left to retry: the feed's validators were kept, and it answers 304.
    assert [r.path for r in site.log] == ["/pages.xml"] and last.status == "not_modified"
    state = feed_of(feed_service, feed.id)
    assert state.etag is not None and state.last_error and "404" in state.last_error
    assert {e.attempts for e in feed_service.backend.feeds.feed_entries(feed.id).values()} == {
        0,
        ENTRY_ATTEMPTS,
    }


def test_private_addresses_are_refused_when_not_allowed(
    feed_service: AssistantService, feed_settings: Settings, site: NewsSite
) -> None:
    site.feed("/private.xml", [Entry(news_article(38))])
    feed = subscribe(feed_service, feed_settings, f"{site.url}/private.xml")
    strict = feed_settings.model_copy(update={"feed_allow_private": False})
    report = poll_now(feed_service, strict, feed.id)
    assert report.status == "failed"
    assert report.error is not None
    assert report.error.startswith("refused: 127.0.0.1 is a loopback address")
    assert site.requests("/private.xml") == []
    assert feed_of(feed_service, feed.id).last_error == report.error


def test_a_poll_killed_after_its_ingest_ingests_nothing_twice(
    feed_service: AssistantService,
    feed_settings: Settings,
    site: NewsSite,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    items = [news_article(38), news_article(39)]
    site.feed("/crash.xml", [Entry(i) for i in items])
    feed = subscribe(feed_service, feed_settings, f"{site.url}/crash.xml")
    store = feed_service.backend.feeds

    def killed(feed: FeedRecord, entries: list[FeedEntryRecord]) -> bool:
        raise SystemExit("killed between the ingest and the feed's state")

    monkeypatch.setattr(store, "save_poll", killed)
    with pytest.raises(SystemExit):
        poll_now(feed_service, feed_settings, feed.id)
    monkeypatch.undo()
    version = feed_service.health().index_version
    assert len(from_site(feed_service, site)) == 2  # the ingest had committed
    assert feed_of(feed_service, feed.id).last_checked is None  # nothing about the poll

    # After the restart: the feed is read again (its validators were never stored), the pages
    # too, and the articles are found by their URLs: no new version, nothing twice.
    report = poll_feed(feed_service, feed_settings, feed.id)
    assert (report.status, report.added, report.unchanged) == ("unchanged", 0, 2)
    assert feed_service.health().index_version == version
    assert len(from_site(feed_service, site)) == 2
    added = [e for e in feed_service.ingest_log(200) if e.origin == "feed"]
    assert len(added) == 2
    assert feed_of(feed_service, feed.id).articles == 2


def test_a_feed_polled_elsewhere_is_left_alone(
    feed_service: AssistantService, feed_settings: Settings, site: NewsSite
) -> None:
    site.feed("/held.xml", [Entry(news_article(38))])
    feed = subscribe(feed_service, feed_settings, f"{site.url}/held.xml")
    with feed_service.backend.exclusive(f"feed-{feed.id}") as held:
        assert held
        report = poll_now(feed_service, feed_settings, feed.id)
    assert report.status == "busy" and site.requests("/held.xml") == []
