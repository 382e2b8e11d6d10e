"""Unanswerable questions made from answerable ones: each change is real and checked."""

from __future__ import annotations

import random

import pytest

from assistant.answers.reader.examples import SquadQuestion, WindowMaker, training_windows
from assistant.answers.reader.perturbation import Analyzer, Perturber, spacy_analyzer
from assistant.index.embedding import resolve_model_path

POOL = [
    "Where did Angela Merkel meet Emmanuel Macron?",
    "What did Xi Jinping say in Beijing?",
    "Why did Germany sign the treaty with France?",
    "When did the Ford Motor Company open a plant in Texas?",
]


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return spacy_analyzer()


def perturber(analyzer: Analyzer, seed: int = 1, negation_share: float = 1.0) -> Perturber:
    return Perturber(analyzer, POOL, random.Random(seed), negation_share)


def test_a_name_is_swapped_for_another_of_its_kind_that_the_text_never_names(
    analyzer: Analyzer,
) -> None:
    context = "Scott Bessent met He Lifeng in Madrid, where the talks were held."
    question = "Where did Scott Bessent meet He Lifeng?"
    p = perturber(analyzer)
    seen = set()
    for seed in range(8):
        p.rng.seed(seed)
        changed = p.perturb(question, context)
        assert changed is not None
        text, kind = changed
        seen.add(kind)
        assert kind in {"entity", "negation"}
        if kind == "entity":
            assert text != question
            swapped = {n for n in p.names["PERSON"] if n in text}
            assert swapped and not any(n.lower() in context.lower() for n in swapped)
    assert "entity" in seen


def test_a_number_or_year_changes_to_one_the_text_does_not_hold(analyzer: Analyzer) -> None:
    context = "In 1994 the plant made 3,000 cars."
    p = Perturber(analyzer, [], random.Random(3), negation_share=0.0)
    for seed in range(10):
        p.rng.seed(seed)
        changed = p.perturb("How many cars did the plant make in 1994?", context)
        assert changed is not None and changed[1] == "number"
        year = int(changed[0].split()[-1].rstrip("?"))
        assert year != 1994 and 1954 <= year <= 2034


def test_an_antonym_only_where_the_text_does_not_say_it(analyzer: Analyzer) -> None:
    p = Perturber(analyzer, [], random.Random(1), negation_share=0.0)
    changed = p.perturb("Who was the first woman to run the city?", "She was the first mayor.")
    assert changed == ("Who was the last woman to run the city?", "antonym")
    # The text says "last" too: asking for the last one could still be answered.
    assert p.perturb("Who was the first woman?", "She was the first, he the last.") is None


def test_a_negation_goes_before_the_main_verb_and_never_where_the_text_negates(
    analyzer: Analyzer,
) -> None:
    p = Perturber(analyzer, [], random.Random(1), negation_share=1.0)
    assert p.perturb("When did the talks resume?", "The talks resumed on Monday.") == (
        "When did the talks not resume?",
        "negation",
    )
    assert p.perturb("What share is Asian?", "A tenth is Asian.") == (
        "What share is not Asian?",
        "negation",
    )
    assert p.perturb("When did the talks resume?", "They did not resume on Monday.") is None


def test_perturbed_windows_hold_the_old_answer_and_are_taught_as_no_answer(
    analyzer: Analyzer,
) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(
        str(resolve_model_path("all-MiniLM-L6-v2")), local_files_only=True
    )
    context = "Scott Bessent met He Lifeng in Madrid in 2025. The talks lasted two days."
    question = SquadQuestion(
        "A", 0, context, "Where did Scott Bessent meet He Lifeng in 2025?", ((31, "Madrid"),)
    )
    windows = training_windows(
        [question] * 20, WindowMaker(tokenizer, 64, seed=2), 0.0, 100, 1.0, perturber(analyzer)
    )
    perturbed = [w for w in windows if w.kind == "perturbed"]
    assert perturbed and all((w.start, w.end) == (0, 0) for w in perturbed)
    for window in perturbed:
        text = str(tokenizer.decode(list(window.input_ids)))
        assert "madrid" in text  # the plausible answer is still there to be refused
        asked = text.split("[SEP]")[0]
        assert asked != "[CLS] where did scott bessent meet he lifeng in 2025? "
    # Without a perturber, the same draws as before: no perturbed windows at all.
    plain = training_windows([question] * 20, WindowMaker(tokenizer, 64, seed=2), 0.0, 100)
    assert {w.kind for w in plain} == {"answer"}
