"""Feeds to entries: RSS 2.0 and Atom of the ../shared/news articles, older RSS, and what is
not a feed."""

from __future__ import annotations

import pytest

from assistant.feeds.parsing import FeedFormatError, parse_feed
from tests.feeds.site import Entry, atom, news_article, news_articles, rss

SITE = "http://127.0.0.1:8123"


def test_rss_2_entries_carry_link_key_title_date_and_content() -> None:
    items = news_articles()[:5]
    entries = [Entry(i, full_content=n == 0) for n, i in enumerate(items)]
    parsed = parse_feed(rss(SITE, entries, "Wire"), f"{SITE}/rss.xml")
    assert parsed.title == "Wire" and parsed.format == "rss20" and not parsed.problems
    assert [e.link for e in parsed.items] == [SITE + i.path for i in items]
    assert [e.key for e in parsed.items] == [SITE + i.path for i in items]
    assert [e.title for e in parsed.items] == [i.article.title for i in items]
    # 23:30 in New York is the next day in UTC: the feed's own day is kept.
    assert [e.published for e in parsed.items] == [i.article.published for i in items]
    assert parsed.items[0].content_html and "<p>" in parsed.items[0].content_html
    assert all(e.content_html is None for e in parsed.items[1:])  # a summary is not content


def test_atom_entries_take_their_updated_date_in_their_own_zone() -> None:
    items = news_articles()[10:14]
    parsed = parse_feed(atom(SITE, [Entry(i) for i in items]), f"{SITE}/atom.xml")
    assert parsed.format == "atom10" and parsed.title == "Loopback Atom"
    assert [e.key for e in parsed.items] == [f"urn:loopback:{i.slug}" for i in items]
    assert [e.published for e in parsed.items] == [i.article.published for i in items]


def test_an_edited_entry_changes_its_fingerprint_and_only_it() -> None:
    items = [news_article(38), news_article(39)]
    before = parse_feed(rss(SITE, [Entry(i) for i in items]), SITE)
    after = parse_feed(rss(SITE, [Entry(items[0]), Entry(items[1], revision=1)]), SITE)
    assert before.items[0].fingerprint == after.items[0].fingerprint
    assert before.items[1].fingerprint != after.items[1].fingerprint


@pytest.mark.parametrize(
    ("document", "version"),
    [
        (
            b"""<?xml version="1.0"?><rss version="0.91"><channel><title>Old</title>
            <item><title>Dam opens</title><link>http://x.example/dam</link></item>
            </channel></rss>""",
            "rss091u",
        ),
        (
            b"""<?xml version="1.0"?>
            <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
                     xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
            <channel rdf:about="http://x.example/"><title>RDF</title></channel>
            <item rdf:about="http://x.example/dam"><title>Dam opens</title>
            <link>http://x.example/dam</link><dc:date>2025-10-02</dc:date></item>
            </rdf:RDF>""",
            "rss10",
        ),
    ],
)
def test_older_rss_versions_are_read(document: bytes, version: str) -> None:
    parsed = parse_feed(document, "http://x.example/feed")
    assert parsed.format == version
    assert [(e.link, e.title) for e in parsed.items] == [("http://x.example/dam", "Dam opens")]


def test_malformed_xml_is_refused_whole_with_where() -> None:
    broken = b'<?xml version="1.0"?>\n<rss version="2.0"><channel>\n<item><title>A</ti></item>'
    with pytest.raises(FeedFormatError, match=r"not well-formed XML \(mismatched tag at line 3"):
        parse_feed(broken, SITE)


def test_a_page_is_not_a_feed() -> None:
    with pytest.raises(FeedFormatError, match=r"not an RSS or Atom feed \(text/html\)"):
        parse_feed(b"<html><body><p>Welcome</p></body></html>", SITE, "text/html")


def test_entries_without_a_web_link_are_left_out_and_named() -> None:
    document = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
    <item><title>No link</title><description>x</description></item>
    <item><title>Mail</title><link>mailto:desk@x.example</link></item>
    <item><title>Fine</title><link>http://x.example/fine</link></item></channel></rss>"""
    parsed = parse_feed(document, SITE)
    assert [e.title for e in parsed.items] == ["Fine"]
    assert parsed.problems == [
        "entry 'No link' has no http(s) link; left out",
        "entry 'Mail' has no http(s) link; left out",
    ]


def test_feedparser_never_reads_a_file_named_by_the_body() -> None:
    # feedparser takes a string for a URL or a file name; bytes go in as a stream.
    with pytest.raises(FeedFormatError):
        parse_feed(b"/etc/hostname", SITE)
