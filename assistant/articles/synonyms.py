"""Synonyms from WordNet 3.0, read straight from its database files.

A question in other words than the article's ("duties" for "tariffs", "truce" for
"ceasefire", "misuse" for "abuse") shares no term with the sentence that answers it. WordNet
groups words into synsets, senses in order of frequency; two words are taken as synonyms here
when one of the first few senses of one holds the other.

The files are Debian's ``wordnet-base`` (``/usr/share/wordnet``): ``index.<pos>`` is sorted by
lemma, so a lookup is a binary search over the memory-mapped file, and ``data.<pos>`` is read
at the synset's byte offset. Nothing is loaded into memory but the exception lists that give
irregular base forms ("geese" -> "goose"), so the thesaurus costs about 100 kB and opens in
milliseconds. Base forms follow WordNet's own ``morphy``: the exception list, then its
suffix rules, keeping the forms the index holds.
"""

from __future__ import annotations

import mmap
from functools import lru_cache
from pathlib import Path

from assistant.articles.terms import STOP_WORDS, stem

DEFAULT_WORDNET = Path("/usr/share/wordnet")

PARTS_OF_SPEECH = ("noun", "verb", "adj", "adv")

#: morphy's detachment rules: a suffix and what replaces it, per part of speech.
_SUFFIXES: dict[str, tuple[tuple[str, str], ...]] = {
    "noun": (
        ("s", ""), ("ses", "s"), ("xes", "x"), ("zes", "z"), ("ches", "ch"), ("shes", "sh"),
        ("men", "man"), ("ies", "y"),
    ),
    "verb": (
        ("s", ""), ("ies", "y"), ("es", "e"), ("es", ""), ("ed", "e"), ("ed", ""),
        ("ing", "e"), ("ing", ""),
    ),
    "adj": (("er", ""), ("est", ""), ("er", "e"), ("est", "e")),
    "adv": (),
}  # fmt: skip


class WordNetError(RuntimeError):
    """The WordNet folder is missing or not WordNet's database files."""


class _SortedIndex:
    """Binary search by lemma over one memory-mapped, sorted ``index.<pos>`` file."""

    def __init__(self, path: Path) -> None:
        with path.open("rb") as file:
            self._map = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
        # The license header's lines open with two spaces; the sorted lemmas follow.
        start = 0
        while self._map[start : start + 2] == b"  ":
            start = self._map.find(b"\n", start) + 1
        self._start = start

    def _line_at(self, position: int) -> tuple[int, bytes]:
        """The first whole line at or after ``position``: its start and its bytes."""
        if position > self._start:
            newline = self._map.find(b"\n", position - 1)
            position = len(self._map) if newline < 0 else newline + 1
        end = self._map.find(b"\n", position)
        end = len(self._map) if end < 0 else end
        return position, self._map[position:end]

    def synsets(self, lemma: str) -> list[int]:
        """Byte offsets in ``data.<pos>`` of ``lemma``'s synsets, most frequent sense first."""
        fields = self._fields(lemma)
        if not fields:
            return []
        count, pointers = int(fields[2]), int(fields[3])
        return [int(f) for f in fields[6 + pointers : 6 + pointers + count]]

    def tagged(self, lemma: str) -> int:
        """How many of ``lemma``'s senses were seen in WordNet's tagged corpus (0 for rare
        words: "seism", "yr")."""
        fields = self._fields(lemma)
        return int(fields[5 + int(fields[3])]) if fields else 0

    def _fields(self, lemma: str) -> list[bytes]:
        """The index line of ``lemma``, split (empty when it is not there)."""
        key = lemma.encode("utf-8")
        low, high = self._start, len(self._map)
        while low < high:
            middle = (low + high) // 2
            start, line = self._line_at(middle)
            if not line:  # past the last line
                high = middle
                continue
            word = line.split(b" ", 1)[0]
            if word == key:
                return line.split()
            if word < key:
                low = start + len(line) + 1
            else:
                high = middle
        return []

    def __contains__(self, lemma: str) -> bool:
        return bool(self.synsets(lemma))


class Thesaurus:
    """Synonyms of single English words, from WordNet's first ``senses`` senses."""

    def __init__(self, folder: Path = DEFAULT_WORDNET, senses: int = 3) -> None:
        missing = [
            name
            for pos in PARTS_OF_SPEECH
            for name in (f"index.{pos}", f"data.{pos}", f"{pos}.exc")
            if not (folder / name).is_file()
        ]
        if missing:
            raise WordNetError(
                f"{folder} is not a WordNet 3.0 database (missing {', '.join(missing)}); "
                "install Debian's wordnet-base or set ASSISTANT_WORDNET_DIR='' to go without"
            )
        self.folder = folder
        self.senses = senses
        self._index = {pos: _SortedIndex(folder / f"index.{pos}") for pos in PARTS_OF_SPEECH}
        self._data: dict[str, mmap.mmap] = {}
        for pos in PARTS_OF_SPEECH:
            with (folder / f"data.{pos}").open("rb") as file:
                self._data[pos] = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
        self._exceptions: dict[str, dict[str, list[str]]] = {}
        for pos in PARTS_OF_SPEECH:
            table: dict[str, list[str]] = {}
            for line in (folder / f"{pos}.exc").read_text(encoding="utf-8").splitlines():
                inflected, *bases = line.split()
                table[inflected] = bases
            self._exceptions[pos] = table
        # One cache per instance (a method cache on the class would keep every instance).
        self.synonyms = lru_cache(maxsize=16384)(self._synonyms)

    def base_forms(self, word: str, pos: str) -> list[str]:
        """The word's base forms of that part of speech that WordNet holds (morphy)."""
        forms = [word, *self._exceptions[pos].get(word, [])]
        for suffix, replacement in _SUFFIXES[pos]:
            if word.endswith(suffix) and len(word) > len(suffix):
                forms.append(word[: -len(suffix)] + replacement)
        return [f for f in dict.fromkeys(forms) if f in self._index[pos]]

    def _lemmas(self, pos: str, offset: int) -> list[str]:
        data = self._data[pos]
        end = data.find(b"\n", offset)
        fields = data[offset:end].split(b" ", 4 + 2 * 255)
        count = int(fields[3], 16)
        lemmas = []
        for raw in fields[4 : 4 + 2 * count : 2]:
            lemma = raw.decode("utf-8").lower()
            lemmas.append(lemma.split("(", 1)[0])  # adjectives' "(a)", "(p)" markers
        return lemmas

    def alternatives(
        self, base: str, pos: str, senses: int = 1, familiar: bool = False
    ) -> list[str]:
        """Other one-word lemmas of the first ``senses`` senses of ``base`` (a base form of
        part of speech ``pos``), most frequent sense first, as written (lower case);
        ``familiar``: only lemmas seen in WordNet's tagged corpus."""
        found: list[str] = []
        for offset in self._index[pos].synsets(base.lower())[:senses]:
            for lemma in self._lemmas(pos, offset):
                if "_" in lemma or "-" in lemma or lemma in STOP_WORDS or lemma == base:
                    continue
                if familiar and not self._index[pos].tagged(lemma):
                    continue
                if lemma not in found:
                    found.append(lemma)
        return found

    def _synonyms(self, word: str) -> frozenset[str]:
        """Stemmed one-word synonyms of ``word`` (lower case), the word's own stem left out."""
        word = word.lower()
        own = stem(word)
        found: set[str] = set()
        for pos in PARTS_OF_SPEECH:
            for base in self.base_forms(word, pos):
                for offset in self._index[pos].synsets(base)[: self.senses]:
                    for lemma in self._lemmas(pos, offset):
                        if "_" in lemma or "-" in lemma or lemma in STOP_WORDS:
                            continue
                        found.add(stem(lemma))
        found.discard(own)
        return frozenset(found)


def open_thesaurus(folder: Path | None, senses: int = 3) -> Thesaurus | None:
    """The thesaurus in ``folder``, or none when no folder is configured."""
    return None if folder is None else Thesaurus(folder, senses)
