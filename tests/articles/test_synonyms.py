"""WordNet synonyms read from the database files (Debian's wordnet-base)."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.answers.answering import QuestionTerms
from assistant.articles.synonyms import DEFAULT_WORDNET, Thesaurus, WordNetError
from assistant.articles.terms import stem
from assistant.config import Settings


@pytest.fixture(scope="module")
def thesaurus() -> Thesaurus:
    return Thesaurus(DEFAULT_WORDNET)


@pytest.mark.parametrize(
    ("word", "synonym"),
    [
        ("duties", "tariff"),  # a plural, the third sense
        ("negotiations", "talks"),
        ("misusing", "abuse"),  # a verb's gerund
        ("prolonged", "extend"),
        ("chief", "head"),
    ],
)
def test_a_word_has_its_synonyms_as_stems(thesaurus: Thesaurus, word: str, synonym: str) -> None:
    assert stem(synonym) in thesaurus.synonyms(word)


def test_the_words_own_stem_and_unknown_words_give_nothing(thesaurus: Thesaurus) -> None:
    assert stem("duty") not in thesaurus.synonyms("duties")
    assert thesaurus.synonyms("qzxjvw") == frozenset()
    assert thesaurus.synonyms("") == frozenset()


def test_only_the_first_senses_count() -> None:
    one_sense = Thesaurus(DEFAULT_WORDNET, senses=1)
    assert stem("tariff") not in one_sense.synonyms("duties")  # tariff is duty's third sense


def test_base_forms_follow_morphy(thesaurus: Thesaurus) -> None:
    assert thesaurus.base_forms("geese", "noun") == ["goose"]  # the exception list
    assert thesaurus.base_forms("talks", "verb") == ["talk"]
    assert "tariff" in thesaurus.base_forms("tariffs", "noun")


def test_the_first_and_last_lemmas_of_an_index_are_found(thesaurus: Thesaurus) -> None:
    """The binary search reaches both ends of the sorted file (the license header before)."""
    lines = (DEFAULT_WORDNET / "index.noun").read_text(encoding="utf-8").splitlines()
    lemmas = [line.split(" ", 1)[0] for line in lines if not line.startswith("  ")]
    for pos_lemma in (lemmas[0], lemmas[1], lemmas[len(lemmas) // 2], lemmas[-1]):
        assert thesaurus.base_forms(pos_lemma, "noun")[:1] == [pos_lemma]


def test_a_folder_without_wordnet_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(WordNetError, match="wordnet-base"):
        Thesaurus(tmp_path)


def test_an_empty_setting_turns_synonyms_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_WORDNET_DIR", "")
    assert Settings().wordnet_dir is None
    monkeypatch.setenv("ASSISTANT_WORDNET_DIR", "/somewhere/wordnet")
    assert Settings().wordnet_dir == Path("/somewhere/wordnet")


def test_a_synonym_counts_at_its_weight() -> None:
    terms = QuestionTerms(
        ["duty", "india"],
        {"duty": 2.0, "india": 1.0},
        {"duty", "india"},
        0.0,
        {"duty": frozenset({"tarif"})},
    )
    assert terms.matches({"tarif", "india"}, 0.5) == {"duty": 0.5, "india": 1.0}
    assert terms.matches({"duty"}, 0.5) == {"duty": 1.0, "india": 0.0}
    assert terms.matches({"tarif"}, 0.0) == {"duty": 0.0, "india": 0.0}
