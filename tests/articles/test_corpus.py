from __future__ import annotations

import re
from pathlib import Path

import pytest
import trafilatura

from assistant.articles import corpus
from assistant.articles.corpus import (
    Article,
    ArticleError,
    article_file_name,
    article_id,
    article_markdown,
    derive_title,
    load_article,
    load_corpus,
    parse_article,
)

# A news page as saved from a browser: the article wrapped in site furniture.
NEWS_PAGE = """<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<title>Harbour reopens | The Coastal Herald</title>
<meta property="og:title" content="Harbour reopens after three-day storm closure">
<meta property="og:site_name" content="The Coastal Herald">
<meta property="article:published_time" content="2025-09-14T08:30:00+00:00">
<link rel="canonical" href="https://herald.example.com/news/harbour-reopens">
</head>
<body>
<div id="cookie-banner" class="cookie-consent">We use cookies to improve your experience.
<button>Accept all cookies</button></div>
<header class="site-header"><nav><ul><li><a href="/">Home</a></li>
<li><a href="/news">News</a></li><li><a href="/sport">Sport</a></li></ul></nav></header>
<main><article>
<h1>Harbour reopens after three-day storm closure</h1>
<p>The harbour at Port Elwyn reopened to shipping on Sunday morning after a storm forced
the port authority to close it for three days, stranding more than forty vessels offshore.</p>
<p>Harbour master Gwen Pritchard said divers had inspected the breakwater overnight and found
only minor damage to the outer wall, which engineers expect to repair within a fortnight.</p>
<p>Fishing crews, who lost an estimated 120,000 pounds in catches during the closure, welcomed
the decision but called for a faster inspection process in future storms.</p>
<div class="share-buttons"><a href="#">Share on Facebook</a> <a href="#">Share on X</a></div>
</article></main>
<footer class="site-footer"><p>© 2025 The Coastal Herald. All rights reserved.</p>
<a href="/privacy">Privacy policy</a></footer>
</body>
</html>
"""

NEWS_PARAGRAPHS = [
    "The harbour at Port Elwyn reopened to shipping on Sunday morning after a storm forced "
    "the port authority to close it for three days, stranding more than forty vessels offshore.",
    "Harbour master Gwen Pritchard said divers had inspected the breakwater overnight and found "
    "only minor damage to the outer wall, which engineers expect to repair within a fortnight.",
    "Fishing crews, who lost an estimated 120,000 pounds in catches during the closure, welcomed "
    "the decision but called for a faster inspection process in future storms.",
]

NO_ARTICLE_PAGE = """<!DOCTYPE html>
<html><head><title>The Coastal Herald</title></head>
<body>
<div class="cookie-consent">We use cookies. <button>Accept all cookies</button></div>
<nav><a href="/">Home</a> <a href="/news">News</a> <a href="/sport">Sport</a></nav>
<footer>© 2025 The Coastal Herald. All rights reserved. <a href="/privacy">Privacy</a></footer>
</body></html>
"""

LATIN1_PAGE = """<html><head>
<meta http-equiv="Content-Type" content="text/html; charset=ISO-8859-1">
<title>Café owners in Zürich protest</title>
</head><body><article>
<h1>Café owners in Zürich protest</h1>
<p>Café owners in Zürich closed their doors for an hour on Friday in protest at a planned rise
in the city's terrace fees, which they say would cost the average café about 4,000 francs.</p>
<p>The city's economic office said the new fees would fund pavement repairs in the old town and
that smaller businesses could apply for a reduction before the end of the year.</p>
</article></body></html>
"""


def write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_seed_corpus_loads_with_its_metadata(seed_articles: list[Article]) -> None:
    by_title = {a.title: a for a in seed_articles}
    titled = by_title[
        "US-China trade talks in Madrid reveal shifting strategic priorities amid TikTok tensions"
    ]
    assert titled.language == "en"
    assert titled.source is None and titled.url is None and titled.published is None
    assert titled.text.startswith("US Treasury Secretary Scott Bessent")
    # The other seed has no headline: its first sentence stands in for one.
    untitled = next(a for a in seed_articles if a is not titled)
    assert (
        untitled.title
        == "High-level U.S.-China trade talks will resume on the 14th (local time) in Madrid, Spain"
    )


def test_markdown_front_matter(tmp_path: Path) -> None:
    path = write(
        tmp_path / "a.md",
        "---\ntitle: Talks resume\nsource: Example Times\nurl: https://example.com/a\n"
        "published: 2025-09-12\nlanguage: en\n---\n\nBody text here.\n",
    )
    article = load_article(path)
    assert (article.title, article.source, article.url, article.published, article.language) == (
        "Talks resume",
        "Example Times",
        "https://example.com/a",
        "2025-09-12",
        "en",
    )
    assert article.text == "Body text here.\n"
    assert article.id == article_id(article.text, "https://example.com/a")


def test_plain_text_takes_its_title_from_the_first_line(tmp_path: Path) -> None:
    article = load_article(
        write(tmp_path / "b.txt", "Headline here\nFirst paragraph.\r\nSecond.\n")
    )
    assert article.title == "Headline here"
    assert article.text == "First paragraph.\nSecond.\n"


def test_ids_are_stable_and_follow_the_url_when_there_is_one() -> None:
    a = Article.create(text="Same words.", url="https://example.com/x")
    b = Article.create(text="Different words now.", url="https://example.com/x")
    c = Article.create(text="Same   words.")
    d = Article.create(text="Same words.")
    assert a.id == b.id  # an update keeps its id
    assert c.id == d.id != a.id


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("bad-yaml.md", "---\ntitle: [unclosed\n---\nText.\n", "front matter is not valid YAML"),
        ("unclosed.md", "---\ntitle: x\nText without end.\n", "not closed"),
        ("empty.md", "---\ntitle: Nothing\n---\n\n  \n", "no text"),
        ("title-only.txt", "Only a title\n", "no text after its title line"),
        ("latin1.txt", "Caf\xe9 title\nBody\n".encode("latin-1"), "not UTF-8"),
        ("bad-date.md", "---\npublished: next Tuesday\n---\nText.\n", "not an ISO date"),
        ("list.md", "---\n- a\n- b\n---\nText.\n", "must be a mapping"),
    ],
)
def test_broken_files_are_reported_by_name(
    tmp_path: Path, name: str, content: str | bytes, reason: str
) -> None:
    path = write(tmp_path / name, content)
    with pytest.raises(ArticleError) as info:
        load_article(path)
    assert str(path) in str(info.value)
    assert reason in str(info.value)


def test_a_broken_file_is_skipped_and_the_rest_still_load(tmp_path: Path) -> None:
    write(tmp_path / "good.md", "---\ntitle: Good\n---\nA fine article.\n")
    write(tmp_path / "bad.md", "---\ntitle: [\n---\nBroken.\n")
    write(tmp_path / "notes.pdf", "ignored")
    write(tmp_path / "README.md", "# not an article\n")
    loaded = load_corpus(tmp_path)
    assert [a.title for a in loaded.articles] == ["Good"]
    assert len(loaded.errors) == 1 and "bad.md" in str(loaded.errors[0])


def test_the_same_article_twice_is_reported(tmp_path: Path) -> None:
    write(tmp_path / "one.md", "---\ntitle: A\n---\nSame body.\n")
    write(tmp_path / "two.md", "---\ntitle: B\n---\nSame body.\n")
    loaded = load_corpus(tmp_path)
    assert len(loaded.articles) == 1
    assert "same article as" in str(loaded.errors[0])


def test_derive_title_shortens_long_first_sentences() -> None:
    assert derive_title("Short lede. More.") == "Short lede"
    long_title = derive_title("word " * 60)
    assert len(long_title) <= 121 and long_title.endswith("…")


def test_an_html_page_gives_its_article_text_and_metadata(tmp_path: Path) -> None:
    article = load_article(write(tmp_path / "harbour.html", NEWS_PAGE.encode("utf-8")))
    assert article.text == "\n\n".join(NEWS_PARAGRAPHS) + "\n"
    for boilerplate in ("cookies", "Home", "Sport", "Share on", "rights reserved", "Privacy"):
        assert boilerplate not in article.text
    assert (article.title, article.source, article.url, article.published, article.language) == (
        "Harbour reopens after three-day storm closure",
        "The Coastal Herald",
        "https://herald.example.com/news/harbour-reopens",
        "2025-09-14",
        "en",
    )
    assert article.id == article_id(article.text, article.url)
    assert article.path == str(tmp_path / "harbour.html")
    assert [a.title for a in load_corpus(tmp_path).articles] == [article.title]


def test_the_same_html_always_gives_the_same_article() -> None:
    data = NEWS_PAGE.encode("utf-8")
    first, second = parse_article("a.html", data), parse_article("a.htm", data)
    assert first == second
    assert (first.id, first.content_hash) == (second.id, second.content_hash)


def test_an_html_page_without_article_text_is_reported_by_name(tmp_path: Path) -> None:
    path = write(tmp_path / "front-page.html", NO_ARTICLE_PAGE)
    with pytest.raises(ArticleError) as info:
        load_article(path)
    assert str(info.value) == f"{path}: no article text found in the HTML page"


def test_an_html_page_over_the_limit_is_refused_before_parsing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def must_not_parse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the page was parsed")

    monkeypatch.setattr(corpus, "MAX_HTML_BYTES", 100)
    monkeypatch.setattr(trafilatura, "load_html", must_not_parse)
    monkeypatch.setattr(trafilatura, "bare_extraction", must_not_parse)
    with pytest.raises(ArticleError, match=r"^big\.html: HTML page is too large"):
        parse_article("big.html", NEWS_PAGE.encode("utf-8"))


def test_a_latin1_page_is_decoded_by_its_meta_charset() -> None:
    data = LATIN1_PAGE.encode("latin-1")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    article = parse_article("cafe.html", data)
    assert article.title == "Café owners in Zürich protest"
    assert article.text.startswith("Café owners in Zürich closed their doors")
    assert "\ufffd" not in article.text


def test_parse_article_reads_uploaded_bytes_by_suffix() -> None:
    md = parse_article("up.md", b"---\ntitle: Uploaded\nlanguage: en\n---\n\nBody.\r\n")
    assert (md.title, md.language, md.text, md.path) == ("Uploaded", "en", "Body.\n", None)
    txt = parse_article("notes.TXT", b"Headline\nFirst line.\n")
    assert (txt.title, txt.text, txt.path) == ("Headline", "First line.\n", None)
    html = parse_article("page.html", NEWS_PAGE.encode("utf-8"))
    assert html.text.split("\n\n")[0] == NEWS_PARAGRAPHS[0]
    assert html.path is None


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("report.pdf", b"%PDF-1.7", "unsupported file type '.pdf'"),
        ("no-suffix", b"Title\nBody\n", "unsupported file type ''"),
        ("latin1.txt", "Caf\xe9\nBody\n".encode("latin-1"), "not UTF-8"),
        ("bad.md", b"---\ntitle: [\n---\nBody\n", "front matter is not valid YAML"),
        ("list.md", b"---\ntitle: [a, b]\n---\nBody\n", "front matter field 'title' must be"),
        ("empty.html", b"", "no article text found in the HTML page"),
    ],
)
def test_upload_errors_name_the_upload(name: str, data: bytes, reason: str) -> None:
    with pytest.raises(ArticleError) as info:
        parse_article(name, data)
    assert str(info.value).startswith(f"{name}: ")
    assert reason in str(info.value)


AWKWARD_TITLES = [
    'He said "no": it\'s over',
    "Breaking: markets fall # again",
    "# Not a heading",
    "Zürich – ein Überblick, 日本語 😀",
    "yes",
    "2025-09-14",
    "null",
    "- starts like a list",
    "---",
    "'single quoted'",
    "@handle & *alias !tag %pct",
    "1e3",
    "word " * 40,
]


@pytest.mark.parametrize("title", AWKWARD_TITLES)
def test_article_markdown_round_trips(tmp_path: Path, title: str) -> None:
    original = Article.create(
        text="\r\n\r\n# First line\r\n\r\n---\r\nkey: value\r\n\r\nLast paragraph.\r\n\r\n\r\n",
        title=title,
        source="Example: Times",
        url="https://example.com/a?b=1#c",
        published="2025-09-14",
        language="en",
    )
    path = write(tmp_path / "x.md", article_markdown(original))
    loaded = load_article(path)
    fields = ("id", "title", "text", "source", "url", "published", "language", "content_hash")
    assert [getattr(loaded, f) for f in fields] == [getattr(original, f) for f in fields]


@pytest.mark.parametrize(
    "original",
    [
        Article.create(text="Only a body.", id="2025-09-14"),
        Article.create(text="Only a body.", id="12345", title="yes"),
        Article.create(text="Only a body.", id="true", source="no", language="off"),
    ],
)
def test_article_markdown_round_trips_ids_and_missing_fields(
    tmp_path: Path, original: Article
) -> None:
    loaded = load_article(write(tmp_path / "x.md", article_markdown(original)))
    assert (loaded.id, loaded.title, loaded.text, loaded.content_hash) == (
        original.id,
        original.title,
        original.text,
        original.content_hash,
    )
    assert (loaded.source, loaded.url, loaded.published, loaded.language) == (
        original.source,
        original.url,
        original.published,
        original.language,
    )


@pytest.mark.parametrize(
    ("title", "article_id_", "expected"),
    [
        ("Talks resume in Madrid", "0123abcd", "talks-resume-in-madrid-0123abcd.md"),
        ("../../etc/passwd", "abc", "etc-passwd-abc.md"),
        ("a/b\\c", "abc", "a-b-c-abc.md"),
        ("..", "abc", "article-abc.md"),
        (".hidden", "abc", "hidden-abc.md"),
        ("😀🎉", "abc", "article-abc.md"),
        ("", "abc", "article-abc.md"),
        ("Café Zürich", "ABC", "cafe-zurich-abc.md"),
    ],
)
def test_article_file_name_is_safe(title: str, article_id_: str, expected: str) -> None:
    assert article_file_name(Article(id=article_id_, title=title, text="Body.\n")) == expected


@pytest.mark.parametrize(
    ("title", "article_id_"),
    [
        ("word " * 40, "0123abcd"),
        ("Fine title", "../../evil"),
        ("Fine title", "/"),
        ("Fine title", "x" * 300),
        ("😀", ".."),
    ],
)
def test_article_file_name_never_escapes_its_folder(title: str, article_id_: str) -> None:
    name = article_file_name(Article(id=article_id_, title=title, text="Body.\n"))
    assert re.fullmatch(r"[a-z0-9][a-z0-9-]*\.md", name)
    assert ".." not in name and len(name) <= 60 + 1 + 64 + 3
    assert len(name.rsplit("-", 1)[0]) <= 60


def test_an_html_page_over_its_parse_time_is_refused_and_the_next_page_parses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 30k links take trafilatura seconds (10 MB of them took 338 s): far over 0.2 s.
    links = "".join(f"<a href='/x{i}'>link number {i}</a> " for i in range(30_000))
    slow_page = f"<html><body><p>{links}</p></body></html>".encode()
    monkeypatch.setattr(corpus, "HTML_PARSE_SECONDS", 0.2)
    with pytest.raises(ArticleError, match=r"slow\.html: the HTML page took longer than"):
        parse_article("slow.html", slow_page)
    monkeypatch.setattr(corpus, "HTML_PARSE_SECONDS", 20.0)
    article = parse_article("harbour.html", NEWS_PAGE.encode("utf-8"))
    assert article.title == "Harbour reopens after three-day storm closure"
