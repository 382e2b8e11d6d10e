"""Train the answer models (sentence ranker, answerability) on SQuAD 2.0 dev-half.

    .venv/bin/python bench/train_answering.py [--out assistant/answers/answer_model.json]

Questions are asked through the real retriever (top 5 passages, as the service does); every
sentence of those passages gets the features of ``assistant.answers.answering``. A sentence is a
positive when it lies in the gold paragraph and contains a gold answer's start.

* the sentence model: logistic regression over SENTENCE_FEATURES;
* the answerability model: logistic regression over ANSWERABLE_FEATURES of each question's
  best sentence (under the sentence model), positive when the question is answerable and
  that sentence is right; its probability is the confidence the service reports. Its
  negatives are SQuAD's unanswerable questions (on topic, written to look answerable) and
  every question asked once more with its own article left out of the candidates: the
  everyday case of a question the collection does not cover.

Both are reported by 2-fold cross-validation over Wikipedia articles (train on one half,
score on the other), then refit on everything and written with those figures.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from squad import DEFAULT_DATA, ROOT, index_squad, load

from assistant.answers.answering import (
    ANSWERABLE_FEATURES,
    DEFAULT_MODEL,
    SENTENCE_FEATURES,
    AnswerModel,
    AnswerSelector,
    LinearModel,
    ScoredSentence,
)
from assistant.answers.conversation import Query
from assistant.answers.reader.calibration import fit_logistic
from assistant.answers.retrieval import Retriever
from assistant.config import Settings
from assistant.index.embedding import Embedder
from assistant.index.segments import IndexDirectory
from assistant.index.store import Store
from assistant.service import answer_options, retrieval_options, thesaurus

Matrix = npt.NDArray[np.float64]

# Evidence whose scale does not depend on the size of the collection: IDF over 1,295 SQuAD
# passages means something else than over the 20 passages of two news articles, so the
# answerability model leaves IDF-weighted evidence out.
ROBUST_FEATURES = (
    "margin",
    "best_cosine",
    "best_coverage",
    "best_phrase",
    "best_typed",
    "missing_rare",
    "unknown_terms",
    "typed_question",
    "typed_missing",
)


@dataclass
class Example:
    fold: int
    query: Query
    answerable: bool
    ranked: list[ScoredSentence]
    labels: list[int]
    off_corpus: bool = False


def as_model(features: tuple[str, ...], weights: Matrix, bias: float) -> LinearModel:
    return LinearModel(features, tuple(float(v) for v in weights), bias)


def sentence_matrix(examples: Sequence[Example]) -> tuple[Matrix, Matrix]:
    rows = [[s.features[f] for f in SENTENCE_FEATURES] for e in examples for s in e.ranked]
    labels = [label for e in examples for label in e.labels]
    return np.asarray(rows, dtype=np.float64), np.asarray(labels, dtype=np.float64)


def rerank(example: Example, model: LinearModel) -> tuple[list[ScoredSentence], list[int]]:
    scores = [model.logit(s.features) for s in example.ranked]
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    ranked = []
    for i in order:
        s = example.ranked[i]
        ranked.append(ScoredSentence(s.sentence, s.passage, s.rank, s.features, scores[i]))
    return ranked, [example.labels[i] for i in order]


def answerable_matrix(
    examples: Sequence[Example],
    selector: AnswerSelector,
    sentence_model: LinearModel,
    used: Sequence[str] = ANSWERABLE_FEATURES,
) -> tuple[Matrix, Matrix]:
    rows, labels = [], []
    for e in examples:
        ranked, ordered_labels = rerank(e, sentence_model)
        values = selector.answerable_features(e.query, ranked)
        rows.append([values[f] if f in used else 0.0 for f in ANSWERABLE_FEATURES])
        labels.append(float(e.answerable and ordered_labels[0] == 1))
    return np.asarray(rows, dtype=np.float64), np.asarray(labels, dtype=np.float64)


def top1(examples: Sequence[Example], model: LinearModel) -> float:
    answerable = [e for e in examples if e.answerable and not e.off_corpus]
    return sum(rerank(e, model)[1][0] == 1 for e in answerable) / len(answerable)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=ROOT / "eval" / "answer_model_squad.json")
    parser.add_argument("--l2", type=float, default=1.0)
    parser.add_argument(
        "--answerable-features",
        default=",".join(ROBUST_FEATURES),
        help="features the answerability model may use (the others get weight 0)",
    )
    args = parser.parse_args()

    used = tuple(f for f in args.answerable_features.split(",") if f)
    unknown = set(used) - set(ANSWERABLE_FEATURES)
    if unknown:
        parser.error(f"unknown answerability features: {sorted(unknown)}")
    articles, questions = load(args.data)
    titles = sorted({a.id.split("#")[0] for a in articles})
    fold_of = {t: i % 2 for i, t in enumerate(titles)}
    settings = Settings()
    embedder = Embedder(settings.model)
    with tempfile.TemporaryDirectory() as tmp:
        directory = IndexDirectory(Path(tmp))
        manifest = index_squad(articles, directory, settings, embedder)
        store = Store(directory.store_path)
        retriever = Retriever(store, directory.load(manifest), retrieval_options(settings))
        selector = AnswerSelector(
            store,
            answer_options(settings),
            AnswerModel.load(DEFAULT_MODEL),
            thesaurus=thesaurus(settings.wordnet_dir, settings.synonym_senses),
        )
        vectors = embedder.encode([q.question for q in questions])
        examples: list[Example] = []
        for q, qv in zip(questions, vectors, strict=True):
            query = Query(q.question, q.question)
            fold = fold_of[q.article_id.split("#")[0]]
            candidates = retriever.run(q.question, qv, 10)
            ranked = selector.rank(query, qv, candidates[:5])
            labels = [
                int(
                    s.passage.article_id == q.article_id
                    and any(s.sentence.start <= start < s.sentence.end for start in q.starts)
                )
                for s in ranked
            ]
            examples.append(Example(fold, query, q.answerable, ranked, labels))
            elsewhere = [c for c in candidates if c.passage.article_id != q.article_id][:5]
            ranked = selector.rank(query, qv, elsewhere)
            if ranked:
                examples.append(Example(fold, query, False, ranked, [0] * len(ranked), True))

        report: dict[str, object] = {}
        for fold in (0, 1):
            train = [e for e in examples if e.fold != fold]
            test = [e for e in examples if e.fold == fold]
            x, y = sentence_matrix([e for e in train if e.answerable])
            heldout: dict[str, float] = {}
            sentence_model = as_model(SENTENCE_FEATURES, *fit_logistic(x, y, args.l2))
            ax, ay = answerable_matrix(train, selector, sentence_model, used)
            answerable_model = as_model(ANSWERABLE_FEATURES, *fit_logistic(ax, ay, args.l2))
            tx, ty = answerable_matrix(test, selector, sentence_model, used)
            probabilities = [
                answerable_model.probability(dict(zip(ANSWERABLE_FEATURES, row, strict=True)))
                for row in tx
            ]
            kinds = [
                "off_corpus" if e.off_corpus else "answerable" if e.answerable else "squad_noans"
                for e in test
            ]
            for kind in ("answerable", "squad_noans", "off_corpus"):
                chosen = [p for p, k in zip(probabilities, kinds, strict=True) if k == kind]
                heldout[f"{kind}_share_confident"] = round(
                    sum(p >= 0.5 for p in chosen) / len(chosen), 4
                )
            heldout["balanced_threshold"] = balanced_threshold(probabilities, list(ty))
            report[f"fold{fold}"] = {
                "sentence_top1_open_heldout": round(top1(test, sentence_model), 4),
                "answerable_auc_heldout": round(auc(probabilities, list(ty)), 4),
                **heldout,
            }
        x, y = sentence_matrix([e for e in examples if e.answerable])
        sentence_model = as_model(SENTENCE_FEATURES, *fit_logistic(x, y, args.l2))
        ax, ay = answerable_matrix(examples, selector, sentence_model, used)
        answerable_model = as_model(ANSWERABLE_FEATURES, *fit_logistic(ax, ay, args.l2))
        store.close()

    thresholds = [float(r["balanced_threshold"]) for r in report.values() if isinstance(r, dict)]
    model = {
        "threshold": round(sum(thresholds) / len(thresholds), 2),
        "about": "Logistic models over the features of assistant/answers/answering.py, trained on "
        "SQuAD 2.0 dev-half by `python bench/train_answering.py`; held-out figures by 2-fold "
        "cross-validation over Wikipedia articles; threshold: balanced accuracy, held out.",
        "cross_validation": report,
        "sentence": {
            "bias": sentence_model.bias,
            "weights": dict(zip(SENTENCE_FEATURES, sentence_model.weights, strict=True)),
        },
        "answerable": {
            "bias": answerable_model.bias,
            "weights": dict(zip(ANSWERABLE_FEATURES, answerable_model.weights, strict=True)),
        },
    }
    args.out.write_text(json.dumps(model, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(model, indent=2))


def balanced_threshold(scores: Sequence[float], labels: Sequence[float]) -> float:
    """The threshold that maximises (true positive rate + true negative rate) / 2."""
    positives = [s for s, y in zip(scores, labels, strict=True) if y == 1]
    negatives = [s for s, y in zip(scores, labels, strict=True) if y != 1]
    best, best_t = -1.0, 0.5
    for t in np.linspace(0.01, 0.99, 99):
        tpr = sum(s >= t for s in positives) / len(positives)
        tnr = sum(s < t for s in negatives) / len(negatives)
        if (tpr + tnr) / 2 > best:
            best, best_t = (tpr + tnr) / 2, float(t)
    return round(best_t, 2)


def auc(scores: Sequence[float], labels: Sequence[float]) -> float:
    """Area under the ROC curve (probability a positive outranks a negative)."""
    order = np.argsort(scores)
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    positives = np.asarray(labels) == 1
    n_pos, n_neg = positives.sum(), (~positives).sum()
    if not n_pos or not n_neg:
        return float("nan")
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


if __name__ == "__main__":
    main()
