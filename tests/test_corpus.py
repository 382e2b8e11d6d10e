from __future__ import annotations

from pathlib import Path

import pytest

from assistant.corpus import (
    Article,
    ArticleError,
    article_id,
    derive_title,
    load_article,
    load_corpus,
)


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
