"""Property tests: chunk and sentence offsets are exact for arbitrary Unicode article text.

The generated articles mix ASCII news sentences (abbreviations, initialisms, decimals, quotes),
emoji (ZWJ sequences, skin tones, flags, keycaps), CJK, Arabic and Hebrew, combining marks
(decomposed letters that NFC recomposes, so the stored text is shorter than the raw one), CRLF
and lone CR line ends, empty and blank lines, runs of Unicode white space, very long words and
paragraphs with no sentence end; one strategy is plain ``st.text()`` for everything else.

Offsets are Python ``str`` indices (code points). The contract checked, for
:func:`assistant.articles.chunking.chunk_article` with the indexer's default options
(``indexing.ChunkingOptions``, equal to the ``Settings`` defaults):

* every sentence's and passage's ``text == article_text[start:end]``, inside the text,
  non-empty and without leading or trailing white space;
* sentences are in order, do not overlap, never contain a line feed, and lie within their
  passages; ordinals and paragraph numbers count up from 0;
* nothing but white space is dropped: the text before, between and after the sentences is
  white space only, so every other character is in exactly one sentence (the splitter only
  ever trims white space, see ``chunking._trimmed``); two sentences are in different
  paragraphs exactly when a line feed separates them;
* passages are runs of consecutive sentences of one paragraph, every sentence is in some
  passage, a passage is within the token budget unless it is a single sentence, and
  consecutive passages move forward by at least one sentence, sharing at most the overlap;
* chunking is deterministic (equal input, equal output, also for an equal but distinct str).

Not asserted, on purpose: that a sentence or passage never splits a grapheme cluster (a
combining mark written after a space is a cluster of its own that trimming can leave at a
sentence start, which is harmless for offsets), and where sentences end (rule-based, tested
by example in ``test_chunking.py``). Lone ``\\r`` is not a paragraph break for
``chunk_article`` itself: the indexer only chunks stored text, in which
:func:`assistant.articles.corpus.normalize_text` has turned every CR and CRLF into ``\\n``; that the
stored text has no CR, is NFC and is what the offsets point into is checked through
:func:`assistant.articles.corpus.parse_article` for Markdown and plain-text files.

Runs are reproducible: ``derandomize=True`` and no example database.
"""

from __future__ import annotations

import itertools
import signal
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from assistant.articles.chunking import Chunks, chunk_article, count_tokens, split_sentences
from assistant.articles.corpus import (
    Article,
    ArticleError,
    article_markdown,
    normalize_text,
    parse_article,
)
from assistant.config import Settings
from assistant.index.indexing import ChunkingOptions

DEFAULTS = ChunkingOptions()

PROPERTY_SETTINGS = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --- strategies -------------------------------------------------------------------------

ASCII_WORDS = st.sampled_from(
    [
        "the",
        "talks",
        "resume",
        "tariffs",
        "of",
        "roughly",
        "55%",
        "3.5",
        "percent",
        "Gen.",
        "Nov.",
        "10",
        "U.S.",
        "U.K.",
        "F.",
        "ca.",
        "etc.",
        "Smith",
        "Seoul",
        "The",
        "It",
        "However",
        '"No',
        'deal."',
        "(AP)",
        "—",
        "'quoted'",
        "“curly”",
        "e.g.",
        "x",
    ]
)
EMOJI = st.sampled_from(
    [
        "😀",
        "👍🏽",  # skin tone modifier
        "👨‍👩‍👧‍👦",  # ZWJ family
        "🧑🏿‍🚀",  # skin tone + ZWJ
        "🏳️‍🌈",  # variation selector + ZWJ
        "🇺🇸",  # regional indicator flag
        "1️⃣",  # keycap
        "❤️",
        "🙂.",
    ]
)
CJK = st.sampled_from(
    [
        "東京では雨が降った。",
        "中国",
        "北京",
        "한국은행",
        "서울에서",
        "「引用」",
        "株価？",
        "ですね！",
    ]
)
RTL = st.sampled_from(
    [
        "مرحبا",
        "بالعالم.",
        "السلام؟",
        "\u200fعربي\u200f",
        "שלום",
        "עולם.",
        "\u202bעברית\u202c",
        "٣٫٥",
    ]
)
COMBINING = st.sampled_from(
    [
        "e\u0301",  # é, decomposed: NFC makes it one code point
        "Cafe\u0301",
        "a\u0308\u0323",  # two marks, reordered and composed by NFC
        "\u0301lead",  # a mark with no base letter
        "Zalgo\u0336\u0337\u0338",
        "n\u0303o",
        "\u1100\u1161\u11a8",  # conjoining Hangul jamo: NFC composes one syllable
        "Å",  # U+212B ANGSTROM SIGN, NFC gives U+00C5
    ]
)
LONG_WORD = st.integers(min_value=200, max_value=3000).map(lambda n: "w" * n) | st.text(
    alphabet=st.characters(blacklist_categories=["Cs", "Zs", "Zl", "Zp", "Cc"]),
    min_size=200,
    max_size=600,
)
ODD_WORD = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=8)
WORD = st.one_of(
    ASCII_WORDS, ASCII_WORDS, ASCII_WORDS, EMOJI, CJK, RTL, COMBINING, LONG_WORD, ODD_WORD
)
# Inline white space, never a line break.
GAP = st.sampled_from([" ", " ", " ", "  ", "\t", "\u00a0", "\u3000", "\u2009", " \t  "])
TERMINAL = st.sampled_from(
    [".", ".", "!", "?", "...", "…", '."', ".”", "?)", "!’", "。", "؟", ".\u0301", ""]
)
LINE_END = st.sampled_from(
    ["\n", "\n", "\r\n", "\r", "\n\n", "\r\n\r\n", "\r\r", "\n \t\n", "\u2028", "\u0085"]
)


@st.composite
def sentence_texts(draw: st.DrawFn) -> str:
    words = draw(st.lists(WORD, min_size=1, max_size=12))
    gaps = draw(st.lists(GAP, min_size=len(words), max_size=len(words)))
    body = "".join(w + g for w, g in zip(words, gaps, strict=True)).rstrip(" \t\u00a0\u3000")
    opener = draw(st.sampled_from(["", "", "The ", "However, ", '"', "“", "(", "3 "]))
    return opener + body + draw(TERMINAL)


@st.composite
def paragraph_texts(draw: st.DrawFn) -> str:
    parts = draw(st.lists(sentence_texts(), min_size=1, max_size=6))
    out = ""
    for part in parts:
        out += part + draw(GAP)
    return out if draw(st.booleans()) else out.rstrip()


@st.composite
def article_texts(draw: st.DrawFn) -> str:
    paragraphs = draw(st.lists(paragraph_texts(), min_size=0, max_size=6))
    out = draw(st.sampled_from(["", "", "\n", "\r\n", "  ", "\ufeff", " \n\n"]))
    for paragraph in paragraphs:
        out += paragraph + draw(LINE_END)
    return out + draw(st.sampled_from(["", "", "\n", "\r\n", "   ", "\r"]))


# Arbitrary text, and dense runs of the characters the splitter decides on.
PIECES = st.sampled_from([*'ab .!?"”)\n\r\t\u0301', "U.S.", "Gen.", " The", "…", "😀", "3.5"])
ANY_TEXT = st.text(max_size=400) | st.lists(PIECES, max_size=80).map("".join)
TEXTS = article_texts() | ANY_TEXT


# --- the contract ------------------------------------------------------------------------


def check_chunks(text: str, chunks: Chunks, max_tokens: int, overlap: int) -> None:
    """Assert every property of the module docstring for ``chunks`` of ``text``."""
    sentences, passages = chunks.sentences, chunks.passages
    for i, s in enumerate(sentences):
        assert 0 <= s.start < s.end <= len(text), s
        assert text[s.start : s.end] == s.text, s
        assert s.text == s.text.strip(), s
        assert "\n" not in s.text, s
        assert s.ordinal == i
    # Nothing but white space outside the sentences, and sentences in order without overlap.
    bounds = [0, *(b for s in sentences for b in (s.start, s.end)), len(text)]
    for lo, hi in zip(bounds[::2], bounds[1::2], strict=True):
        assert lo <= hi, (lo, hi)
        assert text[lo:hi].strip() == "", text[lo:hi]
    if not sentences:
        assert text.strip() == ""
        assert passages == []
        return
    assert sentences[0].paragraph == 0
    for before, after in itertools.pairwise(sentences):
        new_paragraph = "\n" in text[before.end : after.start]
        assert after.paragraph == before.paragraph + int(new_paragraph), (before, after)

    covered: set[int] = set()
    for i, p in enumerate(passages):
        assert p.ordinal == i
        assert 0 <= p.start < p.end <= len(text), p
        assert text[p.start : p.end] == p.text, p
        assert p.sentences, p
        assert list(p.sentences) == list(range(p.sentences[0], p.sentences[-1] + 1)), p
        members = [sentences[k] for k in p.sentences]
        assert (p.start, p.end) == (members[0].start, members[-1].end), p
        assert all(m.paragraph == p.paragraph for m in members), p
        for m in members:
            assert p.start <= m.start < m.end <= p.end
            assert p.text[m.start - p.start : m.end - p.start] == m.text
        assert len(members) == 1 or count_tokens(p.text) <= max_tokens, p
        covered.update(p.sentences)
    assert covered == set(range(len(sentences)))
    for earlier, later in itertools.pairwise(passages):
        assert later.start > earlier.start
        if later.paragraph == earlier.paragraph:
            first, last = later.sentences[0], earlier.sentences[-1]
            assert earlier.sentences[0] < first <= last + 1, (earlier, later)
            assert last + 1 - first <= overlap, (earlier, later)
        else:
            assert later.paragraph == earlier.paragraph + 1
            assert later.sentences[0] == earlier.sentences[-1] + 1


# --- properties --------------------------------------------------------------------------


@contextmanager
def deadline(seconds: int) -> Iterator[None]:
    """Fail the block if it has not finished within ``seconds`` (SIGALRM, main thread)."""

    def expired(signum: int, frame: object) -> None:
        raise AssertionError(f"not finished within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_chunking_finishes_on_pathological_texts() -> None:
    """Found while running the properties: generated articles with long words took seconds.

    The word before each candidate stop was found by a regex search from the start of the
    article, and a long run of stops was retried from each of its characters. The old code
    took about 13 s for 76 KB of plain two-sentence copy, 74 s for one 10,000-character word
    followed by 100 stops, and 10 s for 32,000 dots; these inputs now take milliseconds.
    """
    cases = [
        " ".join(["He spoke. It rose."] * 20_000),  # 380 KB of ordinary sentences
        "w" * 20_000 + " " + "Gen. Smith spoke. It rose 3.5 percent. " * 2_000,
        "." * 200_000 + "x",
        ("https://example.com/" + "a" * 5_000 + ". Next. ") * 40,
    ]
    for text in cases:
        # A generous deadline, not a timing: the old code did not finish these in minutes.
        with deadline(120):
            chunks = chunk_article(text, DEFAULTS.max_tokens, DEFAULTS.overlap_sentences)
        check_chunks(text, chunks, DEFAULTS.max_tokens, DEFAULTS.overlap_sentences)


def test_indexer_defaults_are_the_settings_defaults() -> None:
    fields = Settings.model_fields
    assert DEFAULTS.max_tokens == fields["passage_max_tokens"].default
    assert DEFAULTS.overlap_sentences == fields["passage_overlap_sentences"].default


@PROPERTY_SETTINGS
@given(TEXTS)
@example("")
@example("\r\n \u2028\n")
@example("No sentence end at all")
@example("Ends. \u0301Mark starts the next one.")
@example("A.\rB. Lone CR is not a paragraph break for raw text.")
@example("Family 👨‍👩‍👧‍👦. Next 👍🏽! 東京。 Then Arabic مرحبا. שלום.")
def test_offsets_are_exact_with_the_indexer_defaults(text: str) -> None:
    chunks = chunk_article(text, DEFAULTS.max_tokens, DEFAULTS.overlap_sentences)
    check_chunks(text, chunks, DEFAULTS.max_tokens, DEFAULTS.overlap_sentences)


@PROPERTY_SETTINGS
@given(TEXTS, st.integers(min_value=1, max_value=40), st.integers(min_value=0, max_value=4))
def test_offsets_are_exact_for_any_budget_and_overlap(
    text: str, max_tokens: int, overlap: int
) -> None:
    check_chunks(text, chunk_article(text, max_tokens, overlap), max_tokens, overlap)


@PROPERTY_SETTINGS
@given(TEXTS)
def test_chunking_is_deterministic(text: str) -> None:
    twin = "".join(list(text))  # equal, and a distinct object for non-trivial text
    first = chunk_article(text, DEFAULTS.max_tokens, DEFAULTS.overlap_sentences)
    assert first == chunk_article(text, DEFAULTS.max_tokens, DEFAULTS.overlap_sentences)
    assert first == chunk_article(twin, DEFAULTS.max_tokens, DEFAULTS.overlap_sentences)


@PROPERTY_SETTINGS
@given(st.data(), TEXTS)
def test_split_sentences_stays_inside_its_window(data: st.DataObject, text: str) -> None:
    start = data.draw(st.integers(min_value=0, max_value=len(text)), label="start")
    end = data.draw(st.integers(min_value=start, max_value=len(text)), label="end")
    spans = split_sentences(text, start, end)
    position = start
    for span in spans:
        assert position <= span.start < span.end <= end, span
        assert text[span.start : span.end] == span.text
        assert span.text == span.text.strip()
        assert text[position : span.start].strip() == ""
        position = span.end
    assert text[position:end].strip() == ""


def _stored_text_properties(raw_body: str, article: Article) -> None:
    stored = article.text
    assert "\r" not in stored
    assert unicodedata.is_normalized("NFC", stored)
    assert normalize_text(stored) == stored  # idempotent: a re-save hashes the same
    # Only line ends, NFC and leading/trailing line feeds differ from the raw body.
    expected = unicodedata.normalize("NFC", raw_body.replace("\r\n", "\n").replace("\r", "\n"))
    assert stored == expected.strip("\n") + "\n"
    check_chunks(
        stored,
        chunk_article(stored, DEFAULTS.max_tokens, DEFAULTS.overlap_sentences),
        DEFAULTS.max_tokens,
        DEFAULTS.overlap_sentences,
    )


@PROPERTY_SETTINGS
@given(TEXTS)
@example("Line one.\rLine two.\r\nLine three.\n")
@example("Cafe\u0301 opened.\r\rA\u0308\u0323 sign.")
def test_markdown_file_offsets_point_into_the_stored_text(body: str) -> None:
    raw = "---\ntitle: Test\r\n---\r\n" + body
    try:
        article = parse_article("article.md", raw.encode("utf-8"))
    except ArticleError:
        assert normalize_text(body) == ""
        return
    _stored_text_properties(body, article)
    saved = article_markdown(article).encode("utf-8")
    assert parse_article("again.md", saved).text == article.text


@PROPERTY_SETTINGS
@given(TEXTS)
@example("Title\r\nBody one.\rBody two.")
def test_plain_text_file_offsets_point_into_the_stored_text(raw: str) -> None:
    try:
        article = parse_article("article.txt", raw.encode("utf-8"))
    except ArticleError:
        lines = normalize_text(raw.removeprefix("\ufeff")).split("\n", 1)
        assert len(lines) == 1 or not lines[1].strip()
        return
    # The loader reads UTF-8 with an optional BOM; the first line is the title.
    body = normalize_text(raw.removeprefix("\ufeff")).split("\n", 1)[1]
    _stored_text_properties(body, article)
