"""Service: the one object the faces (API, web, CLI) call.

It owns the embedder, the store and the loaded index version, and runs the pipeline:
question → query (follow-ups) → one embedding → retrieval → answer → citations.

Live updates: :meth:`AssistantService.ingest` and :meth:`~AssistantService.remove` publish a
new index version (see ``index/indexing.py``) and keep ``corpus/`` in step. Every question first
checks ``CURRENT`` (a small file read, at most every ``REFRESH_SECONDS``), so a version
published by this process or by another (``assistant ingest``) is answered from at once. A
question runs entirely on the version it started with: its vectors and the store rows of
that version, never a mix.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from assistant.answers.answering import (
    Answer,
    AnswerModel,
    AnswerOptions,
    AnswerSelector,
    Refusal,
)
from assistant.answers.conversation import Query, Turn, build_query
from assistant.answers.news import NewsAnswer, NewsAnswerer, event_day, matched_query
from assistant.answers.reader.calibration import ReaderCalibration
from assistant.answers.reader.card import DEFAULT_READER
from assistant.answers.retrieval import (
    Candidate,
    Fusion,
    RetrievalOptions,
    Retriever,
    lexical_terms,
)
from assistant.answers.summary import is_boilerplate
from assistant.articles.corpus import Article
from assistant.articles.dates import reported_after
from assistant.articles.entities import EntityRecognizer, load_recognizer
from assistant.articles.synonyms import Thesaurus, open_thesaurus
from assistant.config import Settings
from assistant.index.backends import (
    IndexBackend,
    Records,
    VersionVectors,
    build_from_corpus,
    open_backend,
)
from assistant.index.corpus_folder import CorpusFolder
from assistant.index.embedding import Embedder, load_embedder
from assistant.index.indexing import (
    Action,
    BuildReport,
    ChunkingOptions,
    IngestReport,
    ProgressCallback,
)
from assistant.index.segments import IndexStateError, Manifest
from assistant.index.store.records import ArticleRecord, LogEntry, PassageRecord

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Citation:
    """A numbered source of an answer: a passage and its retrieval score."""

    n: int
    passage: PassageRecord
    score: float


@dataclass(frozen=True)
class AskResult:
    """Everything a face needs to show an answer."""

    query: Query
    answer: Answer
    citations: list[Citation]
    timings_ms: dict[str, float] = field(default_factory=dict)
    news: NewsAnswer | None = None  # as of when; earlier and corroborating answers
    # The passages of earlier and corroborating answers that ``citations`` (at most top_k,
    # as before) leaves out, numbered after them.
    also_cited: list[Citation] = field(default_factory=list)

    def citation_of(self, passage: PassageRecord | None) -> Citation | None:
        """The citation of ``passage`` (None when it is not cited)."""
        if passage is None:
            return None
        return next(
            (c for c in [*self.citations, *self.also_cited] if c.passage.id == passage.id), None
        )


@dataclass(frozen=True)
class Health:
    status: str
    index_version: int
    articles: int
    passages: int
    sentences: int
    model: str
    corpus_hash: str
    created_at: str


#: How many passages naming an event are looked at to place it in time.
EVENT_PASSAGES = 200
#: Values kept per index version at most (event names come from questions: bound them).
MEMO_ENTRIES = 4096

T = TypeVar("T")


class VersionMemo:
    """Values read from one index version, kept while that version is served.

    A version never changes, so nothing kept goes stale: a question on another version
    starts a fresh memo (replaced whole, so threads never see a half-made one). Past
    :data:`MEMO_ENTRIES` values, new ones are computed and not kept.
    """

    def __init__(self) -> None:
        self._memo: tuple[int, dict[Hashable, Any]] = (-1, {})

    def get(self, version: int, key: Hashable, compute: Callable[[], T]) -> T:
        memo = self._memo
        if memo[0] != version:
            memo = (version, {})
            self._memo = memo
        values = memo[1]
        if key in values:
            kept: T = values[key]
            return kept
        value = compute()
        if len(values) < MEMO_ENTRIES:
            values[key] = value
        return value


#: How often a question checks whether a newer index version was published.
REFRESH_SECONDS = 0.25


@dataclass(frozen=True)
class Snapshot:
    """One loaded index version and the retriever over it; swapped whole, never edited."""

    vectors: VersionVectors
    retriever: Retriever

    @property
    def manifest(self) -> Manifest:
        return self.vectors.manifest


class AssistantService:
    """Answers questions from the current index version; see :meth:`open`."""

    def __init__(self, settings: Settings, embedder: Embedder, backend: IndexBackend) -> None:
        self.settings = settings
        self.embedder = embedder
        self.backend = backend
        self.corpus = CorpusFolder(settings.corpus_dir)
        self.store: Records = backend.records
        self.selector = answer_selector(self.store, settings)
        self.answerer = NewsAnswerer(self.selector, settings.news_articles)
        # The newest date, undated articles' places and named events' days, of one version.
        self._memo = VersionMemo()
        self._reload_lock = threading.Lock()
        self._checked_at = 0.0
        self._recognizer: EntityRecognizer | None = None
        self._snapshot = self._first_snapshot()

    @classmethod
    def open(cls, settings: Settings, progress: ProgressCallback | None = None) -> AssistantService:
        """Load the model and the index, building the index from the corpus when there is none.

        A damaged index is repaired here rather than refused (embedded backend: a missing or
        unreadable ``CURRENT``, manifest or segment file is republished from the vectors in
        the store, :func:`~assistant.index.indexing.recover`); a missing or damaged record is
        rebuilt from ``corpus/``. Each repair logs one warning naming the file at fault.
        """
        embedder = load_embedder(settings.model, settings.embed_batch_size)
        backend = open_backend(settings)
        # Under the writer lock, so that a process starting at the same moment waits and then
        # finds the index this one repaired or built, instead of doing the same work again.
        with backend.writer_lock():
            readiness = backend.prepare()
            if readiness.problem is not None:
                if readiness.first_start:
                    log.info(
                        "no index in %s; building it from %s",
                        settings.backend_location,
                        settings.corpus_dir,
                    )
                else:
                    log.warning(
                        "%s; rebuilding the index from the articles in %s",
                        readiness.problem,
                        settings.corpus_dir,
                    )
                report = build(settings, embedder, progress, backend)
                log.info(
                    "built index version %s (%s articles, %s files skipped) in %.1fs",
                    report.manifest.version,
                    report.articles,
                    len(report.skipped),
                    report.seconds,
                )
        return cls(settings, embedder, backend)

    # -- questions ----------------------------------------------------------------------

    def ask(self, question: str, top_k: int = 3, history: Sequence[Turn] = ()) -> AskResult:
        timings: dict[str, float] = {}
        clock = time.perf_counter()

        def lap(name: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            timings[name] = round((now - clock) * 1000.0, 3)
            clock = now

        snapshot = self.snapshot()
        query = build_query(question, list(history))
        version = snapshot.manifest.version
        matched = matched_query(query, self._newest_date(version))
        query_vector = self.embedder.encode_one(matched.text)
        lap("embed")
        candidates = snapshot.retriever.run(matched.text, query_vector, top_k)
        lap("retrieve")
        news = self.answerer.run(
            query,
            query_vector,
            candidates,
            self._newest_date(version),
            self._placement(version),
            self._event_days(version),
        )
        lap("answer")
        citations = _citations(news.answer, candidates, top_k)
        also = _also_cited(citations, candidates, news.cited_passages())
        return AskResult(query, news.answer, citations, timings, news, also)

    def _newest_date(self, version: int) -> dt.date | None:
        """The newest article's date in ``version``."""

        def newest() -> dt.date | None:
            found = self.store.newest_published(version)
            return dt.date.fromisoformat(found) if found else None

        return self._memo.get(version, "newest", newest)

    def _placement(self, version: int) -> Callable[[str], dt.date | None]:
        """For an undated article of ``version``: the latest day its text reports something
        as done on (``dates.reported_after``)."""
        reference = self._newest_date(version)

        def placed(article_id: str) -> dt.date | None:
            record = self.store.article(article_id)
            text = record.text if record and record.text else ""
            return reported_after(text, reference) if reference is not None else None

        return lambda article_id: self._memo.get(
            version, ("placed", article_id), lambda: placed(article_id)
        )

    def _event_days(self, version: int) -> Callable[[str], dt.date | None]:
        """The day a named event happened (``news.event_day``) over the passages of
        ``version`` that name it (the best :data:`EVENT_PASSAGES` by BM25)."""

        def day(name: str) -> dt.date | None:
            hits = self.store.lexical_search(lexical_terms(name), EVENT_PASSAGES, version)
            passages = self.store.passages([i for i, _ in hits], version)
            return event_day(name, list(passages.values()))

        return lambda name: self._memo.get(version, ("event", name), lambda: day(name))

    # -- index versions -----------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """The newest published version (checked at most every ``REFRESH_SECONDS``)."""
        now = time.monotonic()
        if now - self._checked_at >= REFRESH_SECONDS:
            self._checked_at = now
            self.refresh()
        return self._snapshot

    def refresh(self) -> bool:
        """Load the version ``CURRENT`` names if it is not the one served; True if swapped."""
        if self.backend.published() == self._snapshot.manifest.file_name:
            return False
        with self._reload_lock:
            if self.backend.published() == self._snapshot.manifest.file_name:
                return False
            try:
                snapshot = self._load()
            except IndexStateError as exc:
                # A writer may have moved on and tidied the files away; the next look retries.
                log.warning("could not load the new index version yet: %s", exc)
                return False
            previous = self._snapshot.manifest.version
            self._snapshot = snapshot
            log.info("now serving index version %s (was %s)", snapshot.manifest.version, previous)
            return True

    def _first_snapshot(self) -> Snapshot:
        """The published version, loaded; republished from the record if a file of it is
        damaged."""
        return self._load(repair=True)

    def _load(self, repair: bool = False) -> Snapshot:
        vectors = self.backend.load(repair)
        _check_model(vectors.manifest, self.embedder)
        retriever = Retriever(self.store, vectors, retrieval_options(self.settings))
        return Snapshot(vectors, retriever)

    # -- changes --------------------------------------------------------------------------

    def ingest(self, articles: Sequence[Article], origin: str = "api") -> IngestReport:
        """Add or update articles as one new version; their files are kept in ``corpus/``."""
        return self._change(articles, (), origin)

    def remove(self, article_ids: Sequence[str], origin: str = "api") -> IngestReport:
        """Remove articles (and their ``corpus/`` files) as one new version."""
        return self._change((), article_ids, origin)

    def _change(
        self, articles: Sequence[Article], removals: Sequence[str], origin: str
    ) -> IngestReport:
        # Files are written under the writer lock, so that a watcher (which ingests files
        # appearing in corpus/) waits for this ingest instead of racing it.
        with self.backend.writer_lock():
            before = self.store.article_paths([*(a.id for a in articles), *removals])
            saved = [self.corpus.save(a) for a in articles]
            written = [a.path for a, new in saved if new]
            try:
                report = self.backend.apply_changes(
                    self.embedder,
                    chunking_options(self.settings),
                    [a for a, _ in saved],
                    removals,
                    self.recognizer(),
                    origin,
                )
            except BaseException:
                for path in written:
                    self.corpus.discard(path)
                raise
        paths = {a.id: a.path for a, _ in saved}
        for outcome in report.outcomes:
            old, new = before.get(outcome.article_id), paths.get(outcome.article_id)
            if outcome.action in (Action.UPDATED, Action.REMOVED) and old != new:
                self.corpus.discard(old)  # the file the replaced text came from
            elif outcome.action == Action.UNCHANGED and new in written and new != old:
                self.corpus.discard(new)  # the same text is already on file elsewhere
        self.refresh()
        return report

    def recognizer(self) -> EntityRecognizer | None:
        """The entity recognizer for ingests, loaded on first use."""
        if self._recognizer is None and self.settings.ner_model:
            self._recognizer = entity_recognizer(self.settings)
        return self._recognizer

    def ingest_log(self, limit: int = 100) -> list[LogEntry]:
        return self.store.ingest_log(limit)

    # -- corpus -------------------------------------------------------------------------

    def articles(self) -> list[ArticleRecord]:
        return self.store.articles()

    def article(self, article_id: str) -> ArticleRecord | None:
        return self.store.article(article_id)

    def health(self) -> Health:
        manifest = self.snapshot().manifest
        counts = self.store.counts()
        return Health(
            status="ok",
            index_version=manifest.version,
            articles=counts.articles,
            passages=counts.passages,
            sentences=counts.sentences,
            model=manifest.model,
            corpus_hash=manifest.corpus_hash,
            created_at=manifest.created_at,
        )

    def close(self) -> None:
        self.backend.close()


def chunking_options(settings: Settings) -> ChunkingOptions:
    return ChunkingOptions(settings.passage_max_tokens, settings.passage_overlap_sentences)


def retrieval_options(settings: Settings) -> RetrievalOptions:
    return RetrievalOptions(
        candidates=settings.candidates,
        fusion=Fusion(settings.fusion),
        dense_weight=settings.dense_weight,
        sentence_weight=settings.sentence_weight,
        lexical_weight=settings.lexical_weight,
        rrf_k=settings.rrf_k,
    )


def answer_options(settings: Settings) -> AnswerOptions:
    return AnswerOptions(
        min_confidence=settings.min_confidence,
        passages_read=settings.passages_read,
        prior_weight=settings.reader_prior_weight,
        null_weight=settings.reader_null_weight,
        refusal=Refusal(settings.refusal),
        synonym_weight=settings.synonym_weight,
    )


def answer_model(settings: Settings) -> AnswerModel:
    return AnswerModel.load(settings.answer_model) if settings.answer_model else AnswerModel.load()


@lru_cache(maxsize=4)
def thesaurus(folder: Path | None, senses: int) -> Thesaurus | None:
    """The WordNet synonyms ``folder`` holds (opened once per process), or none."""
    return open_thesaurus(folder, senses)


def answer_selector(
    store: Records, settings: Settings, calibration: ReaderCalibration | None = None
) -> AnswerSelector:
    """The selector ``settings`` ask for: with the trained reader (loaded once per process), or
    the feature model alone (``reader="none"``). ``calibration``: instead of the reader
    folder's own (a reader fresh from training has none yet)."""
    synonyms = thesaurus(settings.wordnet_dir, settings.synonym_senses)
    if settings.reader == "none":
        return AnswerSelector(
            store, answer_options(settings), answer_model(settings), thesaurus=synonyms
        )
    # Imported here: the reader loads torch, which the --workers supervisor never does.
    from assistant.answers.reader.reading import ReaderRuntime, load_reader

    directory = settings.reader_dir or DEFAULT_READER
    return AnswerSelector(
        store,
        answer_options(settings),
        answer_model(settings),
        load_reader(
            directory,
            settings.reader_base,
            ReaderRuntime(settings.reader_runtime),
            settings.cache_dir,
        ),
        calibration or ReaderCalibration.load(directory),
        synonyms,
    )


def build(
    settings: Settings,
    embedder: Embedder | None = None,
    progress: ProgressCallback | None = None,
    backend: IndexBackend | None = None,
) -> BuildReport:
    """Index the corpus as a new version (the first one, or a full rebuild)."""
    embedder = embedder or load_embedder(settings.model, settings.embed_batch_size)
    target = backend or open_backend(settings)
    try:
        return build_from_corpus(
            target,
            settings.corpus_dir,
            embedder,
            chunking_options(settings),
            progress,
            entity_recognizer(settings),
        )
    finally:
        if backend is None:
            target.close()


def entity_recognizer(settings: Settings) -> EntityRecognizer | None:
    return load_recognizer(settings.ner_model) if settings.ner_model else None


def _citations(answer: Answer, candidates: list[Candidate], top_k: int) -> list[Citation]:
    """The answer's passage first, then the next best passages, numbered from 1; a refusal's
    "closest passages" leave out page notices ("This article has been translated by AI")."""
    if not answer.answered:
        candidates = [c for c in candidates if not is_boilerplate(c.passage.text)]
    ordered: list[Candidate] = []
    if answer.passage is not None:
        ordered.extend(c for c in candidates if c.passage.id == answer.passage.id)
    ordered.extend(
        c for c in candidates if answer.passage is None or c.passage.id != answer.passage.id
    )
    return [Citation(n, c.passage, c.score) for n, c in enumerate(ordered[:top_k], start=1)]


def _also_cited(
    citations: list[Citation], candidates: list[Candidate], passages: Sequence[PassageRecord]
) -> list[Citation]:
    """Citations for those of ``passages`` that ``citations`` lacks, numbered on."""
    cited = {c.passage.id for c in citations}
    score = {c.passage.id: c.score for c in candidates}
    extra: list[Citation] = []
    for passage in passages:
        if passage.id not in cited:
            cited.add(passage.id)
            n = len(citations) + len(extra) + 1
            extra.append(Citation(n, passage, score.get(passage.id, 0.0)))
    return extra


def _check_model(manifest: Manifest, embedder: Embedder) -> None:
    if manifest.model != embedder.name or manifest.dimension != embedder.dimension:
        raise IndexStateError(
            f"the index was built with model {manifest.model!r} ({manifest.dimension} dimensions) "
            f"but the configured model is {embedder.name!r} ({embedder.dimension}); "
            "run `assistant index --rebuild`"
        )
