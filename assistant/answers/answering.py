"""Answering: the sentence that answers, the short answer inside it, and whether to answer.

Every sentence of the best retrieved passages gets named features computed without another
model call (``SENTENCE_FEATURES``): its cosine with the question (sentence vectors are stored
at index time), how much of the question's terms it covers, plain and IDF-weighted, phrase
overlap, and whether it holds the kind of answer the question asks for (``answer_types``).
A linear model over them ranks the sentences cheaply.

With the reader (the default): the few best sentences, each with the one before it, go to
the reader in one batched forward pass (``reader.reading``). Its best span, weighed with the
cheap ranker's score as a prior, is the short answer; the sentence(s) holding it are the
answer, verbatim, with the one before when the first opens by pointing back ("It ...").
The confidence is the reader's no-answer margin and the cheap answerability evidence,
calibrated (``reader.calibration``); below its threshold the assistant declines.

Without it (``reader="none"``): the best sentence by the cheap ranker is the answer, the
short answer is found inside it by named entities and patterns, and a second linear model
gives the confidence. Both linear models and their threshold live in ``answer_model.json``.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from assistant.answers.answer_types import (
    TYPED_QUESTIONS,
    Highlight,
    QuestionType,
    find_answer_span,
    find_highlight,
    question_type,
)
from assistant.answers.conversation import Query
from assistant.answers.metonyms import country_terms, read_as_countries
from assistant.answers.reader.calibration import ReaderCalibration
from assistant.answers.retrieval import Candidate
from assistant.articles.entities import Entity
from assistant.articles.synonyms import Thesaurus
from assistant.articles.terms import STOP_WORDS, content_terms, stem, words
from assistant.index.backends import Records
from assistant.index.embedding import Vectors
from assistant.index.store.records import PassageRecord, SentenceRecord

if TYPE_CHECKING:  # the reader module loads torch and transformers
    from assistant.answers.reader.reading import Reading


@dataclass(frozen=True)
class Answer:
    """The outcome of answering: verbatim text, where it is, and how sure we are."""

    answered: bool
    text: str | None
    start: int | None  # offsets into the article text
    end: int | None
    passage: PassageRecord | None
    highlight: Highlight | None
    confidence: float
    # The answer model's P(right), where another model's refusal set ``confidence``: news
    # ranking compares answers by it, whoever refuses (None: ``confidence`` is that already).
    match: float | None = None

    @property
    def strength(self) -> float:
        """How well the answer matches, by the answer model: what answers are ranked by."""
        return self.confidence if self.match is None else self.match


#: Answers at least this confident are called a strong match.
STRONG_MATCH = 0.75


def confidence_label(answered: bool, confidence: float) -> str:
    """The confidence in words, for people: a strong or a weak match, or none."""
    if not answered:
        return "no answer in the sources"
    return "strong match" if confidence >= STRONG_MATCH else "weak match"


class Refusal(StrEnum):
    """Who decides that the sources do not answer."""

    # One calibrated model over the reader's no-answer margin and the cheap evidence
    # (``reader.calibration``), fitted on SQuAD 2.0 dev-half questions as asked and reworded.
    READER = "reader"
    # The hand-set answerability model over the cheap evidence (the only one without a reader).
    FEATURES = "features"


class ReadUnit(StrEnum):
    """What the reader reads of the passages considered."""

    PASSAGES = "passages"  # the best passages whole (by their best sentence)
    SENTENCES = "sentences"  # the best sentences, each with the one before it


@dataclass(frozen=True)
class AnswerOptions:
    min_confidence: float | None = None  # None: the calibration's or answer model's threshold
    passages_considered: int = 5
    read_unit: ReadUnit = ReadUnit.PASSAGES
    passages_read: int = 2  # the best passages the reader reads whole (ReadUnit.PASSAGES)
    sentences_read: int = 2  # the best sentences the reader reads (ReadUnit.SENTENCES)
    prior_weight: float = 2.0  # weight of the cheap ranker's score beside the reader's
    # News: of each of the best articles' own candidates, the reader reads this many passages
    # or sentences (beside read_count of all the candidates).
    article_reads: int = 1
    # Weight of the reader's no-answer score of a text against it when choosing which text
    # holds the answer (1: the span's margin over "no answer"; 0: the span score alone).
    null_weight: float = 0.5
    refusal: Refusal = Refusal.READER  # who refuses when the reader is on
    # How much a question term counts as in a sentence when only a WordNet synonym of it is
    # ("duties" against "tariffs"); its own stem counts 1.
    synonym_weight: float = 0.5

    @property
    def read_count(self) -> int:
        """How many passages or sentences (by ``read_unit``) the reader reads."""
        return self.passages_read if self.read_unit is ReadUnit.PASSAGES else self.sentences_read


# --- selection ---------------------------------------------------------------------------

#: Evidence about one sentence as the answer to a question, computed without a model call.
SENTENCE_FEATURES = (
    "cosine",  # question vs sentence vector (stored at index time)
    "cosine_gap",  # cosine minus the best cosine among the candidates (<= 0)
    "coverage",  # share of the question's content terms in the sentence
    "coverage_idf",  # the same, weighted by inverse document frequency
    "phrase",  # share of the question's adjacent term pairs found together
    "typed",  # the sentence holds the asked-for kind of answer (when the question asks one)
    "retrieval_gap",  # the passage's fused retrieval score minus the best one (<= 0)
    "log_length",  # log of the sentence's token count
)
#: Evidence that the best sentence really answers (for the confidence and abstention).
ANSWERABLE_FEATURES = (
    "margin",  # the best sentence's lead over the runner-up, in sentence-model score
    "best_cosine",
    "best_coverage",
    "best_coverage_idf",
    "best_phrase",
    "best_typed",
    "missing_rare",  # the rarest question term missing from the sentence, relative (0..1)
    "unknown_terms",  # share of question terms that no passage of the corpus contains
    "typed_question",  # the question asks for a date, number, place or name
    "typed_missing",  # ... and the sentence has none
)

DEFAULT_MODEL = Path(__file__).with_name("answer_model.json")


@dataclass(frozen=True)
class LinearModel:
    """A logistic model over named features: ``sigmoid(bias + weights · features)``."""

    features: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float

    def logit(self, values: Mapping[str, float]) -> float:
        return self.bias + sum(
            w * values[f] for f, w in zip(self.features, self.weights, strict=True)
        )

    def probability(self, values: Mapping[str, float]) -> float:
        return _sigmoid(self.logit(values))

    @classmethod
    def from_dict(cls, data: Mapping[str, object], expected: tuple[str, ...]) -> LinearModel:
        weights = data["weights"]
        if not isinstance(weights, dict) or set(weights) != set(expected):
            raise ValueError(f"answer model needs weights for exactly {expected}")
        return cls(expected, tuple(float(weights[f]) for f in expected), float(str(data["bias"])))


@dataclass(frozen=True)
class AnswerModel:
    """The sentence ranker, the answerability model and its threshold (a JSON file)."""

    sentence: LinearModel
    answerable: LinearModel
    threshold: float

    @classmethod
    def load(cls, path: Path = DEFAULT_MODEL) -> AnswerModel:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(
                sentence=LinearModel.from_dict(data["sentence"], SENTENCE_FEATURES),
                answerable=LinearModel.from_dict(data["answerable"], ANSWERABLE_FEATURES),
                threshold=float(data["threshold"]),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"answer model {path} cannot be used: {exc}") from exc


@dataclass(frozen=True)
class QuestionTerms:
    """The question's stemmed content terms with their IDF, and which the corpus knows."""

    ordered: list[str]
    weights: dict[str, float]  # own terms at full weight, follow-up context at half
    own: set[str]
    unknown_share: float
    synonyms: Mapping[str, frozenset[str]] = field(default_factory=dict)  # stem -> stems
    # A capital's stem -> its country's names, each as stems ("washington" -> {"us"}, ...).
    aliases: Mapping[str, tuple[frozenset[str], ...]] = field(default_factory=dict)

    def matches(self, present: set[str], synonym_weight: float) -> dict[str, float]:
        """How much each weighted term is in a text of ``present`` stems: 1 as itself or as
        the country its capital stands for, ``synonym_weight`` through a synonym, else 0."""
        return {
            t: 1.0
            if t in present or any(name <= present for name in self.aliases.get(t, ()))
            else synonym_weight
            if self.synonyms.get(t, set()) & present
            else 0.0
            for t in self.weights
        }


_LEANS_BACK = re.compile(
    r"^(?:It|This|That|These|Those|They|He|She|Its|Their|His|Her|The three|"
    r"However|But|Meanwhile|Still|Instead)\b(?!\s+[A-Z][a-z])"
)


def leans_back(text: str) -> bool:
    """Whether a sentence opens by pointing back to the one before it ("It ...", "But ...")."""
    return bool(_LEANS_BACK.match(text))


@dataclass
class ScoredSentence:
    """A candidate answer sentence, the evidence about it and its score."""

    sentence: SentenceRecord
    passage: PassageRecord
    rank: int
    features: dict[str, float]
    score: float = 0.0


# --- reading -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReadText:
    """A stretch of whole sentences of one passage, as the reader reads it (article offsets),
    and the cheap ranker's best score among its sentences."""

    passage: PassageRecord
    start: int
    end: int
    prior: float

    @property
    def text(self) -> str:
        offset = self.passage.start
        return self.passage.text[self.start - offset : self.end - offset]


def reading_texts(ranked: list[ScoredSentence], count: int) -> list[ReadText]:
    """What the reader reads of ``ReadUnit.SENTENCES``: the ``count`` best sentences, each
    with the sentence before it in its paragraph (a pronoun's referent, a date set earlier),
    overlaps merged."""
    sentences: dict[tuple[int, int], SentenceRecord] = {
        (s.passage.id, s.sentence.ordinal): s.sentence for s in ranked
    }
    stretches: dict[int, list[tuple[int, int, float]]] = {}
    passages: dict[int, PassageRecord] = {}
    for scored in ranked[:count]:
        start, end = _with_sentence_before(scored, sentences)
        passages[scored.passage.id] = scored.passage
        stretches.setdefault(scored.passage.id, []).append((start, end, scored.score))
    texts: list[ReadText] = []
    for passage_id, found in stretches.items():
        merged: list[tuple[int, int, float]] = []
        for start, end, score in sorted(found):
            if merged and start <= merged[-1][1]:
                last = merged[-1]
                merged[-1] = (last[0], max(last[1], end), max(last[2], score))
            else:
                merged.append((start, end, score))
        texts.extend(ReadText(passages[passage_id], s, e, p) for s, e, p in merged)
    return texts


def passage_texts(ranked: list[ScoredSentence], count: int) -> list[ReadText]:
    """What the reader reads: the ``count`` passages holding the best sentences, whole (the
    answer may lie in a sentence the cheap ranker put below others of the same passage)."""
    texts: dict[int, ReadText] = {}
    for scored in ranked:
        passage = scored.passage
        if passage.id not in texts:
            if len(texts) == count:
                break
            texts[passage.id] = ReadText(passage, passage.start, passage.end, scored.score)
    return list(texts.values())


def _with_sentence_before(
    scored: ScoredSentence, sentences: Mapping[tuple[int, int], SentenceRecord]
) -> tuple[int, int]:
    """Article offsets of a best sentence with the one before it, within its paragraph."""
    sentence = scored.sentence
    before = sentences.get((scored.passage.id, sentence.ordinal - 1))
    first = before if before is not None and before.paragraph == sentence.paragraph else sentence
    return first.start, sentence.end


@dataclass(frozen=True)
class Proposal:
    """The answer the selector would give, before the threshold, and its evidence."""

    answer: Answer
    evidence: dict[str, float]


class Reader(Protocol):
    """What the selector needs of a reader (``reader.reading.TransformerReader``)."""

    def read(self, question: str, texts: Sequence[str]) -> list[Reading]: ...


class AnswerSelector:
    """Chooses the answer sentence among retrieved passages, or declines."""

    def __init__(
        self,
        store: Records,
        options: AnswerOptions,
        model: AnswerModel | None = None,
        reader: Reader | None = None,
        calibration: ReaderCalibration | None = None,
        thesaurus: Thesaurus | None = None,
    ) -> None:
        self.store = store
        self.options = options
        self.thesaurus = thesaurus
        self.model = model or AnswerModel.load()
        self.reader = reader
        self.calibration = calibration if reader is not None else None
        threshold = (
            self.calibration.threshold
            if self.calibration is not None and options.refusal is Refusal.READER
            else self.model.threshold
        )
        self.min_confidence = (
            threshold if options.min_confidence is None else options.min_confidence
        )

    def rank(
        self,
        query: Query,
        query_vector: Vectors,
        candidates: list[Candidate],
        terms: QuestionTerms | None = None,
        passages: int | None = None,
    ) -> list[ScoredSentence]:
        """Every sentence of the considered passages (the first ``passages``, by default
        ``passages_considered``), best first."""
        considered = candidates[: passages or self.options.passages_considered]
        if not considered:
            return []
        qtype = question_type(query.question)
        terms = terms or self.question_terms(query)
        sentences_by_passage = self.store.sentences_in([c.passage for c in considered])
        top_retrieval = max(c.score for c in considered)
        scored = [
            ScoredSentence(
                sentence,
                candidate.passage,
                rank,
                self._features(
                    sentence, query, query_vector, terms, qtype, candidate.score - top_retrieval
                ),
            )
            for rank, candidate in enumerate(considered)
            for sentence in sentences_by_passage.get(candidate.passage.id, [])
        ]
        if not scored:
            return []
        best_cosine = max(s.features["cosine"] for s in scored)
        for s in scored:
            s.features["cosine_gap"] = s.features["cosine"] - best_cosine
            s.score = self.model.sentence.logit(s.features)
        scored.sort(key=lambda s: -s.score)
        return scored

    def answerable_features(
        self, query: Query, ranked: list[ScoredSentence], terms: QuestionTerms | None = None
    ) -> dict[str, float]:
        """Evidence that the best of ``ranked`` answers the question."""
        best = ranked[0]
        runner_up = ranked[1].score if len(ranked) > 1 else best.score - 5.0
        terms = terms or self.question_terms(query)
        matched = terms.matches(set(content_terms(best.sentence.text)), self.options.synonym_weight)
        own_weights = [terms.weights[t] for t in terms.own]
        missing = [terms.weights[t] for t in terms.own if not matched[t]]
        qtype = question_type(query.question)
        typed_question = qtype in TYPED_QUESTIONS
        return {
            "margin": best.score - runner_up,
            "best_cosine": best.features["cosine"],
            "best_coverage": best.features["coverage"],
            "best_coverage_idf": best.features["coverage_idf"],
            "best_phrase": best.features["phrase"],
            "best_typed": best.features["typed"],
            "missing_rare": max(missing) / max(own_weights) if missing and own_weights else 0.0,
            "unknown_terms": terms.unknown_share,
            "typed_question": float(typed_question),
            "typed_missing": float(typed_question and not best.features["typed"]),
        }

    def run(self, query: Query, query_vector: Vectors, candidates: list[Candidate]) -> Answer:
        return self.decide(self.propose(query, query_vector, candidates))

    def answers(self, proposal: Proposal | None) -> bool:
        """Whether the proposal is confident enough to be given as an answer: the refusing
        model's confidence against its threshold (also how news answers keep other
        articles' answers; docs/evaluation.md measures both refusals on the news set)."""
        return proposal is not None and proposal.answer.confidence >= self.min_confidence

    def decide(self, proposal: Proposal | None) -> Answer:
        """The proposal's answer if it is confident enough, else a refusal."""
        if proposal is None:
            return _no_answer()
        if not self.answers(proposal):
            return _no_answer(proposal.answer.confidence)
        return proposal.answer

    def propose(
        self, query: Query, query_vector: Vectors, candidates: list[Candidate]
    ) -> Proposal | None:
        """The best answer whatever its confidence, or None when there is nothing to read."""
        return self.propose_each(query, query_vector, [candidates])[0]

    def propose_each(
        self,
        query: Query,
        query_vector: Vectors,
        groups: Sequence[list[Candidate]],
        reads: Sequence[int] | None = None,
    ) -> list[Proposal | None]:
        """The best answer within each group of candidates (e.g. one group per article),
        whatever its confidence; the reader reads every group's texts in one call.
        ``reads``: how many passages (or sentences, by ``read_unit``) it reads of each group;
        the options' count for every group by default."""
        terms = self.question_terms(query)  # corpus statistics: looked up once per question
        rankings = [self.rank(query, query_vector, group, terms) for group in groups]
        if self.reader is None or self.calibration is None:
            return [
                self._sentence_answer(query, r, self.answerable_features(query, r, terms))
                if r
                else None
                for r in rankings
            ]
        counts = reads or [self.options.read_count] * len(rankings)
        texts = [self.texts_to_read(r, n) for r, n in zip(rankings, counts, strict=True)]
        # A text that two groups share is read once.
        distinct = list(dict.fromkeys(t.text for group in texts for t in group))
        read = self._read(query.text, distinct)
        return [
            self._read_answer(
                query,
                ranked,
                self.answerable_features(query, ranked, terms),
                group,
                [read[t.text] for t in group],
                self.calibration,
            )
            if ranked
            else None
            for ranked, group in zip(rankings, texts, strict=True)
        ]

    def texts_to_read(
        self, ranked: list[ScoredSentence], count: int | None = None
    ) -> list[ReadText]:
        """What the reader reads of ``ranked``: ``count`` (the options' by default) passages
        or sentences, by ``AnswerOptions.read_unit``."""
        count = count or self.options.read_count
        if self.options.read_unit is ReadUnit.PASSAGES:
            return passage_texts(ranked, count)
        return reading_texts(ranked, count)

    def _read(self, question: str, texts: list[str]) -> dict[str, Reading]:
        """Each text's reading, the question asked of it with a capital that stands for its
        country read as the country the text names (``metonyms``); one reader call per
        distinct wording, nearly always one."""
        assert self.reader is not None
        by_wording: dict[str, list[str]] = {}
        for text in texts:
            by_wording.setdefault(read_as_countries(question, [text]), []).append(text)
        read: dict[str, Reading] = {}
        for wording, group in by_wording.items():
            read.update(zip(group, self.reader.read(wording, group), strict=True))
        return read

    def _sentence_answer(
        self, query: Query, ranked: list[ScoredSentence], evidence: dict[str, float]
    ) -> Proposal:
        """The feature model alone: its best sentence, the short answer found by patterns."""
        best = ranked[0]
        siblings = [s.sentence for s in ranked if s.passage.id == best.passage.id]
        start, end = self._extend(best.sentence, siblings)
        offset = best.passage.start
        text = best.passage.text[start - offset : end - offset]
        # Entities of the sentences in the answer, moved to offsets within the answer text.
        entities = [
            Entity(e.start + s.start - start, e.end + s.start - start, e.label)
            for s in siblings
            if start <= s.start and s.end <= end
            for e in s.entities
        ]
        answer = Answer(
            answered=True,
            text=text,
            start=start,
            end=end,
            passage=best.passage,
            highlight=find_answer_span(text, query.text, question_type(query.question), entities),
            confidence=self.model.answerable.probability(evidence),
        )
        return Proposal(answer, evidence)

    def _read_answer(
        self,
        query: Query,
        ranked: list[ScoredSentence],
        evidence: dict[str, float],
        texts: list[ReadText],
        readings: list[Reading],
        calibration: ReaderCalibration,
    ) -> Proposal:
        """The reader's best span among the best sentences; its sentence(s) are the answer."""
        # The reader's span score, with the cheap ranker's score of the text as a prior.
        weight, null_weight = self.options.prior_weight, self.options.null_weight
        best = max(
            range(len(texts)),
            key=lambda i: (
                readings[i].span_score
                - null_weight * readings[i].null_score
                + weight * texts[i].prior
            ),
        )
        read, reading = texts[best], readings[best]
        span_start, span_end = read.start + reading.start, read.start + reading.end
        siblings = sorted(
            (s.sentence for s in ranked if s.passage.id == read.passage.id),
            key=lambda s: s.start,
        )
        holding = [s for s in siblings if s.start < span_end and s.end > span_start]
        first = holding[0] if holding else ranked[0].sentence
        start, end = self._extend(first, siblings)
        end = max([end, *(s.end for s in holding)])
        offset = read.passage.start
        text = read.passage.text[start - offset : end - offset]
        highlight = Highlight(
            span_start - start, span_end - start, text[span_start - start : span_end - start]
        )
        # The reader's margin beside the cheap evidence: calibration may fit any of them.
        features = {**evidence, "reader_margin": reading.span_score - reading.null_score}
        answer = Answer(
            answered=True,
            text=text,
            start=start,
            end=end,
            passage=read.passage,
            highlight=highlight,
            confidence=self._confidence(evidence, features, calibration),
            match=self.model.answerable.probability(evidence),
        )
        return Proposal(answer, features)

    def _confidence(
        self,
        evidence: Mapping[str, float],
        features: Mapping[str, float],
        calibration: ReaderCalibration,
    ) -> float:
        """P(right) by whoever refuses: the calibrated reader, or the answer model."""
        if self.options.refusal is Refusal.FEATURES:
            return self.model.answerable.probability(evidence)
        return calibration.confidence(features)

    def question_terms(self, query: Query) -> QuestionTerms:
        """IDF per stemmed question term; context terms of a follow-up count half."""
        own = [w for w in words(query.question) if w not in STOP_WORDS]
        context = [w for w in words(query.text) if w not in STOP_WORDS and w not in own]
        total, df = self.store.document_frequencies(own + context)
        weights: dict[str, float] = {}
        for word_list, factor in ((own, 1.0), (context, 0.5)):
            for w in word_list:
                idf = math.log(1.0 + (total - df.get(w, 0) + 0.5) / (df.get(w, 0) + 0.5))
                term = stem(w)
                weights[term] = max(weights.get(term, 0.0), idf * factor)
        unknown = sum(df.get(w, 0) == 0 for w in own) / len(own) if own else 0.0
        synonyms: dict[str, frozenset[str]] = {}
        if self.thesaurus is not None:
            for w in own:
                synonyms[stem(w)] = synonyms.get(stem(w), frozenset()) | self.thesaurus.synonyms(w)
        aliases = {t: n for t, n in country_terms(query.question).items() if t in weights}
        return QuestionTerms(
            [stem(w) for w in own], weights, {stem(w) for w in own}, unknown, synonyms, aliases
        )

    def _features(
        self,
        sentence: SentenceRecord,
        query: Query,
        query_vector: Vectors,
        terms: QuestionTerms,
        qtype: QuestionType,
        retrieval_gap: float,
    ) -> dict[str, float]:
        sentence_terms = content_terms(sentence.text)
        matched = terms.matches(set(sentence_terms), self.options.synonym_weight)
        total = sum(terms.weights.values()) or 1.0
        typed = qtype in TYPED_QUESTIONS and find_highlight(
            sentence.text, query.text, qtype, sentence.entities
        )
        return {
            "cosine": float(np.dot(query_vector, sentence.vector)),
            "cosine_gap": 0.0,  # set once every candidate's cosine is known
            "coverage": sum(matched[t] for t in terms.own) / len(terms.own) if terms.own else 0.0,
            "coverage_idf": sum(w * matched[t] for t, w in terms.weights.items()) / total,
            "phrase": _phrase_overlap(terms.ordered, sentence_terms),
            "typed": float(bool(typed)),
            "retrieval_gap": retrieval_gap,
            "log_length": math.log(1 + len(sentence_terms)),
        }

    def _extend(self, best: SentenceRecord, siblings: list[SentenceRecord]) -> tuple[int, int]:
        """The best sentence, with the one before it when it opens by pointing back to it."""
        start, end = best.start, best.end
        if leans_back(best.text):
            previous = [s for s in siblings if s.ordinal == best.ordinal - 1]
            if previous and previous[0].paragraph == best.paragraph:
                start = previous[0].start
        return start, end


def _phrase_overlap(question_terms: list[str], sentence_terms: list[str]) -> float:
    """Share of the question's adjacent term pairs that also stand together in the sentence."""
    pairs = set(itertools.pairwise(question_terms))
    if not pairs:
        return 0.0
    present = set(itertools.pairwise(sentence_terms))
    return len(pairs & present) / len(pairs)


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(min(x, 50.0), -50.0)))


def _no_answer(confidence: float = 0.0) -> Answer:
    return Answer(False, None, None, None, None, None, confidence)
