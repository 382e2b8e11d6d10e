"""Articles: reading them from ``corpus/`` or an upload (Markdown, plain text or HTML).

An :class:`Article` is the unit the assistant indexes and cites. Its ``text`` is the body
that every passage and sentence offset points into. A file that cannot be read is reported
by name (:class:`ArticleError`) and skipped; the rest of the corpus still loads.

Three formats are understood, by suffix (:data:`SUPPORTED_SUFFIXES`):

* Markdown (``.md``, ``.markdown``) with optional YAML front matter: ``id``, ``title``,
  ``source``, ``url``, ``published`` and ``language``.

Where no ``published`` date is given, one stated in the URL or in a dateline is taken
(``dates``); otherwise it stays unknown.
* Plain text (``.txt``): the first line is the title, the rest the body.
* HTML (``.html``, ``.htm``): a saved web page. Its main text and metadata are extracted
  offline with trafilatura (favouring precision, without comments or tables), so navigation,
  cookie banners, share buttons and footers are dropped; paragraphs are separated by a blank
  line. Pages larger than :data:`MAX_HTML_BYTES` are refused unparsed, and a page is parsed
  in a helper process given :data:`HTML_PARSE_SECONDS`, so a hostile page cannot hold a
  server thread (or the writer lock) for minutes. Nothing is fetched.

:func:`load_article` reads a file and :func:`parse_article` parses uploaded bytes; both go
through the same code, as does :func:`parse_html` (a fetched web page, named by its URL).
:func:`article_markdown` writes an article back as Markdown with front matter that loads to
an equal article (same id, text and content hash), and
:func:`article_file_name` gives a safe file name for it, so that articles that came from
HTML or the API can be kept in ``corpus/`` and a rebuild gives the same answers.
"""

from __future__ import annotations

import atexit
import codecs
import copy
import datetime as dt
import hashlib
import multiprocessing
import multiprocessing.pool
import re
import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import trafilatura
import yaml
from trafilatura.settings import Document
from trafilatura.utils import decode_file
from trafilatura.xml import xmltotxt

from assistant.articles.dates import publication_date

#: File types the loader understands, by suffix.
SUPPORTED_SUFFIXES = (".md", ".markdown", ".txt", ".html", ".htm")
_MARKDOWN_SUFFIXES = (".md", ".markdown")
_HTML_SUFFIXES = (".html", ".htm")

#: HTML pages larger than this are refused before they are parsed (untrusted input).
MAX_HTML_BYTES = 10 * 1024 * 1024
#: Fewer words than this extracted from a page are not an article.
MIN_HTML_WORDS = 8
#: Longest an HTML page may take to parse. trafilatura takes 0.1 s for a news page but 56 s
#: for 10 MB of paragraphs and 338 s for 10 MB of links (measured here), so it runs in a
#: helper process that is killed past this.
HTML_PARSE_SECONDS = 20.0

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_METADATA_FIELDS = ("id", "title", "source", "url", "published", "language")
_MAX_TITLE_CHARS = 120
_MAX_SLUG_CHARS = 60
_MAX_ID_SLUG_CHARS = 64

# A charset declared in the document's head: ``<meta charset=...>`` or the
# ``http-equiv="Content-Type"`` form (``content="text/html; charset=..."``).
_META_CHARSET = re.compile(rb"<meta[^>]*?charset\s*=\s*[\"']?\s*([A-Za-z0-9._:-]+)", re.IGNORECASE)
_CHARSET_SCAN_BYTES = 4096
# As browsers do (WHATWG Encoding), a page that declares Latin-1 or ASCII is read as
# windows-1252, a superset that maps the 0x80-0x9F bytes to printable characters.
_CHARSET_SUPERSETS = {"latin_1": "cp1252", "ascii": "cp1252"}
_LANGUAGE_TAG = re.compile(r"([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]{1,8})*")
# Date extraction must not depend on the day it runs: a fixed upper bound replaces
# trafilatura's default of "today", and no free-text date guessing (precision).
_DATE_PARAMS: dict[str, Any] = {
    "original_date": True,
    "extensive_search": False,
    "max_date": "2099-12-31",
}


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
            published=publication_date(_iso_date(published), url, body),
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
    _check_suffix(str(path), path.suffix)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ArticleError(f"{path}: cannot be read ({exc.strerror})") from exc
    return _parse(str(path), data, path=str(path))


def parse_article(name: str, data: bytes) -> Article:
    """Parse an uploaded file's bytes by the suffix of ``name``; never touches the filesystem.

    ``name`` is only used for the format and in error messages; the article's ``path`` is None.
    """
    _check_suffix(name, _suffix(name))
    return _parse(name, data, path=None)


def parse_html(name: str, data: bytes) -> Article:
    """A web page's bytes as an article, as an uploaded ``.html`` file is read; ``name`` (a
    URL, say) names the page in error messages."""
    try:
        return _from_html(data, name, None)
    except ArticleError as exc:
        message = str(exc)
        raise ArticleError(message if message.startswith(name) else f"{name}: {message}") from exc


def article_markdown(article: Article) -> str:
    """The article as Markdown with YAML front matter, which :func:`load_article` reads back
    to an equal article (same id, title, text, metadata and content hash)."""
    meta: dict[str, object] = {"id": article.id, "title": article.title}
    for name in ("source", "url", "published", "language"):
        value = getattr(article, name)
        if value is not None:
            meta[name] = dt.date.fromisoformat(value) if name == "published" else value
    front = yaml.safe_dump(
        meta, sort_keys=False, allow_unicode=True, width=float("inf"), default_flow_style=False
    )
    return f"---\n{front}---\n\n{article.text}"


def article_file_name(article: Article) -> str:
    """A safe file name for :func:`article_markdown`: ``<title-slug>-<id>.md``.

    Only ASCII lowercase letters, digits and hyphens before ``.md``: no path separators, and
    never a leading dot.
    """
    title_slug = _slug(article.title)[:_MAX_SLUG_CHARS].rstrip("-") or "article"
    id_slug = _slug(article.id)
    if not id_slug or len(id_slug) > _MAX_ID_SLUG_CHARS:
        id_slug = hashlib.sha256(article.id.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{title_slug}-{id_slug}.md"


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


def _suffix(name: str) -> str:
    return PurePosixPath(name.replace("\\", "/")).suffix


def _check_suffix(name: str, suffix: str) -> None:
    if suffix.lower() not in SUPPORTED_SUFFIXES:
        raise ArticleError(f"{name}: unsupported file type {suffix!r}")


def _parse(name: str, data: bytes, *, path: str | None) -> Article:
    """The one code path for files and uploads: bytes to an :class:`Article`, by suffix."""
    suffix = _suffix(name).lower()
    try:
        if suffix in _HTML_SUFFIXES:
            return _from_html(data, name, path)
        try:
            raw = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ArticleError(
                f"{name}: not UTF-8 text ({exc.reason} at byte {exc.start})"
            ) from exc
        if suffix in _MARKDOWN_SUFFIXES:
            return _from_markdown(raw, name, path)
        return _from_plain_text(raw, name, path)
    except ArticleError as exc:
        message = str(exc)
        raise ArticleError(message if message.startswith(name) else f"{name}: {message}") from exc


def _from_markdown(raw: str, name: str, path: str | None) -> Article:
    match = _FRONT_MATTER.match(raw)
    meta: dict[str, object] = {}
    body = raw
    if match:
        try:
            parsed = yaml.safe_load(match.group(1))
        except yaml.YAMLError as exc:
            raise ArticleError(
                f"{name}: front matter is not valid YAML ({_yaml_reason(exc)})"
            ) from exc
        if parsed is not None and not isinstance(parsed, dict):
            raise ArticleError(f"{name}: front matter must be a mapping of fields")
        meta = parsed or {}
        body = raw[match.end() :]
    elif raw.startswith("---"):
        raise ArticleError(f"{name}: front matter is not closed by a '---' line")
    fields = {key: meta.get(key) for key in _METADATA_FIELDS}
    for key in ("id", "title", "source", "url", "language"):
        value = fields[key]
        if value is not None and not isinstance(value, str | int | float):
            raise ArticleError(f"{name}: front matter field {key!r} must be text")
    return Article.create(
        text=body,
        title=_text_or_none(fields["title"]),
        source=_text_or_none(fields["source"]),
        url=_text_or_none(fields["url"]),
        published=fields["published"],
        language=_text_or_none(fields["language"]),
        id=_text_or_none(fields["id"]),
        path=path,
    )


def _from_plain_text(raw: str, name: str, path: str | None) -> Article:
    """Plain text: the first line is the title, the rest the body."""
    lines = normalize_text(raw).split("\n", 1)
    title = lines[0].strip()
    body = lines[1] if len(lines) > 1 else ""
    if not body.strip():
        raise ArticleError(f"{name}: the article has no text after its title line")
    return Article.create(text=body, title=title, path=path)


def _from_html(data: bytes, name: str, path: str | None) -> Article:
    """A saved web page, parsed within :data:`HTML_PARSE_SECONDS` in a helper process."""
    if len(data) > MAX_HTML_BYTES:
        raise ArticleError(
            f"{name}: HTML page is too large ({len(data)} bytes; the limit is {MAX_HTML_BYTES})"
        )
    return _HTML_PARSER.parse(data, name, path, HTML_PARSE_SECONDS)


class _HtmlParser:
    """One helper process (started on first use, shared by threads) that parses HTML pages.

    A page over its time is abandoned by killing the process; the next page starts another.
    """

    def __init__(self) -> None:
        self._pool: multiprocessing.pool.Pool | None = None
        self._lock = threading.Lock()
        atexit.register(self.close)

    def parse(self, data: bytes, name: str, path: str | None, seconds: float) -> Article:
        with self._lock:
            if self._pool is None:
                # "spawn": a fresh interpreter, never a fork of a process running torch threads.
                self._pool = multiprocessing.get_context("spawn").Pool(processes=1)
            pool = self._pool
        pending = pool.apply_async(_extract_html, (data, name, path))
        try:
            article: Article = pending.get(timeout=seconds)
        except multiprocessing.TimeoutError:
            with self._lock:
                if self._pool is pool:
                    self._pool = None
            pool.terminate()
            raise ArticleError(
                f"{name}: the HTML page took longer than {seconds:.0f} s to parse; "
                "save its text as .txt or .md instead"
            ) from None
        return article

    def close(self) -> None:
        """Stop the helper process (at exit: a pool left to the garbage collector complains)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.terminate()
            pool.join()


_HTML_PARSER = _HtmlParser()


def _extract_html(data: bytes, name: str, path: str | None) -> Article:
    """A saved web page: its main text (paragraphs split by blank lines) and metadata."""
    html = _decode_html(data)
    try:
        tree = trafilatura.load_html(html)
        document = (
            None
            if tree is None
            else trafilatura.bare_extraction(
                tree,
                favor_precision=True,
                include_comments=False,
                include_tables=False,
                include_images=False,
                include_links=False,
                include_formatting=False,
                deduplicate=False,
                with_metadata=True,
                date_extraction_params=dict(_DATE_PARAMS),
            )
        )
    except Exception as exc:  # a third-party parser on untrusted input: report, never crash
        raise ArticleError(
            f"{name}: the HTML page could not be parsed ({type(exc).__name__})"
        ) from exc
    if not isinstance(document, Document):
        raise ArticleError(f"{name}: no article text found in the HTML page")
    title = _clean(document.title)
    paragraphs = _html_paragraphs(document)
    if paragraphs and title and _same_words(paragraphs[0], title):
        paragraphs = paragraphs[1:]  # the headline, already the title
    words = sum(len(p.split()) for p in paragraphs)
    if words < MIN_HTML_WORDS:
        # What is left of a page without an article is a menu item or a button label.
        detail = f" (only {words} words)" if words else ""
        raise ArticleError(f"{name}: no article text found in the HTML page{detail}")
    url = _clean(document.url)
    return Article.create(
        text="\n\n".join(paragraphs),
        title=title,
        source=_clean(document.sitename) or _clean(document.hostname),
        url=url if url and re.match(r"https?://", url, re.IGNORECASE) else None,
        published=document.date,
        language=_html_language(tree),
        path=path,
    )


def _decode_html(data: bytes) -> str:
    """UTF-8, else the charset the page declares in a meta tag, else trafilatura's guess."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    match = _META_CHARSET.search(data[:_CHARSET_SCAN_BYTES])
    if match:
        try:
            codec = codecs.lookup(match.group(1).decode("ascii")).name.replace("-", "_")
        except LookupError:
            codec = ""
        # a page cannot really be in UTF-16/32 if it declares that in ASCII-readable bytes
        if codec and not codec.startswith(("utf_16", "utf_32")):
            for candidate in (_CHARSET_SUPERSETS.get(codec), codec):
                if candidate:
                    try:
                        return data.decode(candidate)
                    except UnicodeDecodeError:
                        continue
    return decode_file(data)


def _html_paragraphs(document: Document) -> list[str]:
    """One paragraph per block of the extracted body (a list stays one paragraph)."""
    body = document.body
    blocks: list[str] = []
    if body.text:
        blocks.append(body.text)
    for child in body:
        block = copy.deepcopy(child)
        block.tail = None
        blocks.append(xmltotxt(block, False))
        if child.tail:
            blocks.append(child.tail)
    paragraphs: list[str] = []
    for block in blocks:
        lines = [" ".join(line.split()) for line in normalize_text(block).split("\n")]
        paragraph = "\n".join(line for line in lines if line)
        if paragraph:
            paragraphs.append(paragraph)
    return paragraphs


def _html_language(tree: Any) -> str | None:
    """The primary language subtag of ``<html lang>`` (``en-GB`` gives ``en``), if given."""
    if tree is None:
        return None
    declared = tree.get("lang") or tree.get("{http://www.w3.org/XML/1998/namespace}lang")
    if not declared:
        declared = next(
            (
                meta.get("content")
                for meta in tree.iter("meta")
                if (meta.get("http-equiv") or "").lower() == "content-language"
            ),
            None,
        )
    match = _LANGUAGE_TAG.fullmatch(str(declared).strip()) if declared else None
    return match.group(1).lower() if match else None


def _same_words(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


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
