"""Service: the one object the faces (API, web, CLI) call.

It owns the embedder, the store and the loaded index version, and runs the pipeline:
question → query (follow-ups) → one embedding → retrieval → answer → citations.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from assistant.answering import Answer, AnswerModel, AnswerOptions, AnswerSelector
from assistant.config import Settings
from assistant.conversation import Query, Turn, build_query
from assistant.embedding import Embedder, load_embedder
from assistant.entities import EntityRecognizer, load_recognizer
from assistant.index import IndexDirectory, IndexStateError, Manifest, VectorIndex
from assistant.indexing import BuildReport, ChunkingOptions, ProgressCallback, build_index, recover
from assistant.retrieval import Candidate, Fusion, RetrievalOptions, Retriever
from assistant.store import ArticleRecord, PassageRecord, Store

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


class AssistantService:
    """Answers questions from the current index version; see :meth:`open`."""

    def __init__(self, settings: Settings, embedder: Embedder, directory: IndexDirectory) -> None:
        self.settings = settings
        self.embedder = embedder
        self.directory = directory
        manifest = directory.current_manifest()
        _check_model(manifest, embedder)
        self.store = Store(directory.store_path)
        self.vectors: VectorIndex = directory.load(manifest)
        self.retriever = Retriever(self.store, self.vectors, retrieval_options(settings))
        self.selector = AnswerSelector(self.store, answer_options(settings), answer_model(settings))

    @classmethod
    def open(cls, settings: Settings, progress: ProgressCallback | None = None) -> AssistantService:
        """Load the model and the index, building the index from the corpus when there is none."""
        embedder = load_embedder(settings.model, settings.embed_batch_size)
        directory = IndexDirectory(settings.index_dir)
        if not directory.exists():
            log.info("no index in %s; building it from %s", settings.index_dir, settings.corpus_dir)
            report = build(settings, embedder, progress)
            log.info(
                "built index version %s (%s articles) in %.1fs",
                report.manifest.version,
                report.articles,
                report.seconds,
            )
        elif recover(directory) is not None:
            log.warning("recovered an interrupted index publish in %s", settings.index_dir)
        return cls(settings, embedder, directory)

    # -- questions ----------------------------------------------------------------------

    def ask(self, question: str, top_k: int = 3, history: Sequence[Turn] = ()) -> AskResult:
        timings: dict[str, float] = {}
        clock = time.perf_counter()

        def lap(name: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            timings[name] = round((now - clock) * 1000.0, 3)
            clock = now

        query = build_query(question, list(history))
        query_vector = self.embedder.encode_one(query.text)
        lap("embed")
        candidates = self.retriever.run(query.text, query_vector, top_k)
        lap("retrieve")
        answer = self.selector.run(query, query_vector, candidates)
        lap("answer")
        return AskResult(query, answer, _citations(answer, candidates, top_k), timings)

    # -- corpus -------------------------------------------------------------------------

    def articles(self) -> list[ArticleRecord]:
        return self.store.articles()

    def article(self, article_id: str) -> ArticleRecord | None:
        return self.store.article(article_id)

    def health(self) -> Health:
        manifest = self.vectors.manifest
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
        self.store.close()


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
    return AnswerOptions(min_confidence=settings.min_confidence)


def answer_model(settings: Settings) -> AnswerModel:
    return AnswerModel.load(settings.answer_model) if settings.answer_model else AnswerModel.load()


def build(
    settings: Settings, embedder: Embedder | None = None, progress: ProgressCallback | None = None
) -> BuildReport:
    """Index the corpus as a new version (the first one, or a full rebuild)."""
    embedder = embedder or load_embedder(settings.model, settings.embed_batch_size)
    return build_index(
        settings.corpus_dir,
        IndexDirectory(settings.index_dir),
        embedder,
        chunking_options(settings),
        progress,
        entity_recognizer(settings),
    )


def entity_recognizer(settings: Settings) -> EntityRecognizer | None:
    return load_recognizer(settings.ner_model) if settings.ner_model else None


def _citations(answer: Answer, candidates: list[Candidate], top_k: int) -> list[Citation]:
    """The answer's passage first, then the next best passages, numbered from 1."""
    ordered: list[Candidate] = []
    if answer.passage is not None:
        ordered.extend(c for c in candidates if c.passage.id == answer.passage.id)
    ordered.extend(
        c for c in candidates if answer.passage is None or c.passage.id != answer.passage.id
    )
    return [Citation(n, c.passage, c.score) for n, c in enumerate(ordered[:top_k], start=1)]


def _check_model(manifest: Manifest, embedder: Embedder) -> None:
    if manifest.model != embedder.name or manifest.dimension != embedder.dimension:
        raise IndexStateError(
            f"the index was built with model {manifest.model!r} ({manifest.dimension} dimensions) "
            f"but the configured model is {embedder.name!r} ({embedder.dimension}); "
            "run `assistant index --rebuild`"
        )
