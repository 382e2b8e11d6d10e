from __future__ import annotations

from assistant.articles.terms import content_terms, stem, words


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
