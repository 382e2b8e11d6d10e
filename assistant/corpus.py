"""Articles: reading them from ``corpus/`` (Markdown with YAML front matter, or plain text).

An :class:`Article` is the unit the assistant indexes and cites. Its ``text`` is the body
that every passage and sentence offset points into. A file that cannot be read is reported
by name (:class:`ArticleError`) and skipped; the rest of the corpus still loads.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

#: File types the loader understands, by suffix.
SUPPORTED_SUFFIXES = (".md", ".markdown", ".txt")

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_METADATA_FIELDS = ("id", "title", "source", "url", "published", "language")
_MAX_TITLE_CHARS = 120


class ArticleError(ValueError):
    """An article that cannot be used; the message names the file or the field at fault."""


@dataclass(frozen=True)
class Article:
    """One news article: metadata and the text that citations point into."""

    id: str
    title: str
    text: str
    source: str | None = None
    url: str | None = None
    published: str | None = None
    language: str | None = None
    path: str | None = None
    content_hash: str = field(default="", compare=False)

    @classmethod
    def create(
        cls,
        *,
        text: str,
        title: str | None = None,
        source: str | None = None,
        url: str | None = None,
        published: object = None,
        language: str | None = None,
        id: str | None = None,
        path: str | None = None,
    ) -> Article:
        """Validate and normalise an article from loose fields (a file or an API body)."""
        body = normalize_text(text)
        if not body.strip():
            raise ArticleError("the article has no text")
        url = _clean(url)
        return cls(
            id=_clean(id) or article_id(body, url),
            title=_clean(title) or derive_title(body),
            text=body,
            source=_clean(source),
            url=url,
            published=_iso_date(published),
            language=_clean(language),
            path=path,
            content_hash=content_hash(body),
        )


@dataclass(frozen=True)
class LoadedCorpus:
    """The articles that loaded and the files that did not, with the reason for each."""

    articles: list[Article]
    errors: list[ArticleError]


def normalize_text(text: str) -> str:
    """Unify line endings and Unicode form so that offsets mean the same on every platform."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    return text.strip("\n") + "\n" if text.strip() else ""


def content_hash(text: str) -> str:
    """SHA-256 of the normalised body: equal texts are the same content."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def article_id(text: str, url: str | None) -> str:
    """A stable id: from the URL when there is one (an update keeps its id), else the content."""
    basis = f"url:{url.strip()}" if url else f"text:{' '.join(text.split())}"
    return hashlib.sha256(basis.encode("utf-8")).hexdigest()[:16]


def derive_title(text: str) -> str:
    """A title for an article that has none: its first sentence, shortened at a word."""
    first_line = text.strip().split("\n", 1)[0]
    match = re.search(r"[.!?](?=\s)", first_line)
    title = first_line[: match.start()] if match else first_line
    if len(title) > _MAX_TITLE_CHARS:
        title = title[:_MAX_TITLE_CHARS].rsplit(" ", 1)[0] + "…"
    return title.strip()


def load_article(path: Path) -> Article:
    """Read one article file; raise :class:`ArticleError` naming the file when it is unusable."""
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise ArticleError(f"{path}: unsupported file type {path.suffix!r}")
    try:
        raw = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ArticleError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except OSError as exc:
        raise ArticleError(f"{path}: cannot be read ({exc.strerror})") from exc
    try:
        if path.suffix.lower() == ".txt":
            return _from_plain_text(raw, path)
        return _from_markdown(raw, path)
    except ArticleError as exc:
        message = str(exc)
        raise ArticleError(
            message if message.startswith(str(path)) else f"{path}: {message}"
        ) from exc


def iter_article_files(paths: Iterable[Path]) -> list[Path]:
    """The supported files under the given files or folders, sorted, hidden files skipped."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                p
                for p in path.rglob("*")
                if p.is_file()
                and p.suffix.lower() in SUPPORTED_SUFFIXES
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
                and p.name.lower() != "readme.md"
            )
        else:
            found.append(path)
    return sorted(found)


def load_corpus(corpus_dir: Path) -> LoadedCorpus:
    """Every article under ``corpus_dir``; broken files are collected, not fatal."""
    if not corpus_dir.is_dir():
        raise ArticleError(f"{corpus_dir}: corpus folder not found")
    articles: list[Article] = []
    errors: list[ArticleError] = []
    seen: dict[str, Path] = {}
    for path in iter_article_files([corpus_dir]):
        try:
            article = load_article(path)
        except ArticleError as exc:
            errors.append(exc)
            continue
        if article.id in seen:
            errors.append(
                ArticleError(f"{path}: same article as {seen[article.id]} (id {article.id})")
            )
            continue
        seen[article.id] = path
        articles.append(article)
    return LoadedCorpus(articles=articles, errors=errors)


def _from_markdown(raw: str, path: Path) -> Article:
    match = _FRONT_MATTER.match(raw)
    meta: dict[str, object] = {}
    body = raw
    if match:
        try:
            parsed = yaml.safe_load(match.group(1))
        except yaml.YAMLError as exc:
            raise ArticleError(
                f"{path}: front matter is not valid YAML ({_yaml_reason(exc)})"
            ) from exc
        if parsed is not None and not isinstance(parsed, dict):
            raise ArticleError(f"{path}: front matter must be a mapping of fields")
        meta = parsed or {}
        body = raw[match.end() :]
    elif raw.startswith("---"):
        raise ArticleError(f"{path}: front matter is not closed by a '---' line")
    fields = {name: meta.get(name) for name in _METADATA_FIELDS}
    for name in ("id", "title", "source", "url", "language"):
        value = fields[name]
        if value is not None and not isinstance(value, str | int | float):
            raise ArticleError(f"{path}: front matter field {name!r} must be text")
    return Article.create(
        text=body,
        title=_text_or_none(fields["title"]),
        source=_text_or_none(fields["source"]),
        url=_text_or_none(fields["url"]),
        published=fields["published"],
        language=_text_or_none(fields["language"]),
        id=_text_or_none(fields["id"]),
        path=str(path),
    )


def _from_plain_text(raw: str, path: Path) -> Article:
    """Plain text: the first line is the title, the rest the body."""
    lines = normalize_text(raw).split("\n", 1)
    title = lines[0].strip()
    body = lines[1] if len(lines) > 1 else ""
    if not body.strip():
        raise ArticleError(f"{path}: the article has no text after its title line")
    return Article.create(text=body, title=title, path=str(path))


def _iso_date(value: object) -> str | None:
    """Front matter dates come as ``date`` objects or strings; both become ``YYYY-MM-DD``."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    try:
        return dt.date.fromisoformat(text[:10]).isoformat()
    except ValueError as exc:
        raise ArticleError(f"published date {text!r} is not an ISO date (YYYY-MM-DD)") from exc


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = " ".join(value.split())
    return value or None


def _text_or_none(value: object) -> str | None:
    return None if value is None else str(value)


def _yaml_reason(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or "syntax error"
    return f"{problem} at line {mark.line + 1}" if mark is not None else str(problem)
