from __future__ import annotations

from assistant.articles.terms import content_terms, name_words, stem, words


def test_inflections_meet() -> None:
    assert stem("tariffs") == stem("tariff")
    assert stem("talks") == stem("talk")
    assert stem("imposed") == stem("imposing") == stem("imposes")
    assert stem("countries") == stem("country")


def test_initialisms_and_percentages_stay_whole() -> None:
    assert words("The U.S. levies 55% on U.K. goods") == [
        "the",
        "us",
        "levies",
        "55%",
        "on",
        "uk",
        "goods",
    ]


def test_content_terms_drop_stop_words() -> None:
    assert content_terms("Where will the talks be held?") == ["talk"]


def test_name_words_are_the_capitalised_words_after_the_first_and_numbers() -> None:
    assert name_words("Who is the Chinese ambassador to Spain in 2025?") == {
        "chinese",
        "spain",
        "2025",
    }
    # "U.S." folds as everywhere else; a question typed in lower case names nothing.
    assert name_words("What did the U.S. Treasury say?") == {"us", "treasury"}
    assert name_words("name of the american treasury chief") == set()
    assert name_words("The Talks") == {"talks"}
