"""Questions reworded with synonyms their paragraph does not use; the answer stays."""

from __future__ import annotations

import random

import pytest
from transformers import AutoTokenizer

from assistant.answers.reader.examples import SquadQuestion, WindowMaker, training_windows
from assistant.answers.reader.paraphrase import Paraphraser
from assistant.answers.reader.perturbation import Analyzer, spacy_analyzer
from assistant.articles.synonyms import DEFAULT_WORDNET, Thesaurus
from assistant.articles.terms import stem
from assistant.config import PACKAGED_MODEL
from assistant.index.embedding import resolve_model_path


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return spacy_analyzer()


@pytest.fixture(scope="module")
def thesaurus() -> Thesaurus:
    return Thesaurus(DEFAULT_WORDNET)


def paraphraser(analyzer: Analyzer, thesaurus: Thesaurus, seed: int = 1) -> Paraphraser:
    return Paraphraser(analyzer, thesaurus, random.Random(seed), share=1.0, drop_mark=0.0)


def test_common_words_are_replaced_by_synonyms_the_text_does_not_use(
    analyzer: Analyzer, thesaurus: Thesaurus
) -> None:
    context = "The tariffs on Chinese goods will begin in November, the officials said."
    question = "When will the new tariffs begin?"
    changed = paraphraser(analyzer, thesaurus).paraphrase(question, context)
    assert changed is not None and changed != question
    assert "duties" in changed or "start" in changed or "commence" in changed
    used = {stem(w) for w in context.lower().replace(",", " ").replace(".", " ").split()}
    new_words = set(changed.lower().rstrip("?").split()) - set(question.lower().split())
    assert new_words and not {stem(w) for w in new_words} & used


def test_names_numbers_and_quoted_words_stay(analyzer: Analyzer, thesaurus: Thesaurus) -> None:
    question = 'What did Scott Bessent call the "framework" agreed in 2025?'
    for seed in range(6):
        changed = paraphraser(analyzer, thesaurus, seed).paraphrase(question, "Nothing here.")
        if changed is None:
            continue
        for kept in ("Scott Bessent", '"framework"', "2025"):
            assert kept in changed


def test_a_question_with_nothing_to_replace_gives_none(
    analyzer: Analyzer, thesaurus: Thesaurus
) -> None:
    assert paraphraser(analyzer, thesaurus).paraphrase("Who is Xi Jinping?", "Xi Jinping") is None


def test_rare_synonyms_are_not_used(thesaurus: Thesaurus) -> None:
    assert "seism" in thesaurus.alternatives("earthquake", "noun")
    assert "seism" not in thesaurus.alternatives("earthquake", "noun", familiar=True)
    assert thesaurus.alternatives("qzxjvw", "noun") == []


def test_paraphrased_windows_keep_the_answer(analyzer: Analyzer, thesaurus: Thesaurus) -> None:
    tokenizer = AutoTokenizer.from_pretrained(
        resolve_model_path(PACKAGED_MODEL), local_files_only=True
    )
    context = "Officials said the tariffs would begin on November 10 after the summit in Busan."
    start = context.index("November 10")
    item = SquadQuestion(
        "Tariffs", 0, context, "When will the tariffs begin?", ((start, "November 10"),)
    )
    maker = WindowMaker(tokenizer, 64, seed=3)
    windows = training_windows(
        [item], maker, 0.0, 10, paraphrased_rate=1.0, paraphraser=paraphraser(analyzer, thesaurus)
    )
    kinds = [w.kind for w in windows]
    assert kinds == ["answer", "paraphrased"]
    answer, paraphrased = windows
    answer_tokens = answer.input_ids[answer.start : answer.end + 1]
    assert paraphrased.input_ids[paraphrased.start : paraphrased.end + 1] == answer_tokens
    assert tokenizer.decode(list(answer_tokens)) == "november 10"
    assert paraphrased.input_ids != answer.input_ids
