"""A small dated news corpus for tests: the seeds plus three articles in which a tariff
changes (55% in September, 47% in November, reported by two outlets)."""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARTICLES = {
    "september.md": (
        "Trade Desk",
        "2025-09-17",
        "Washington kept its tariffs on Chinese goods at 55% after the Madrid talks, "
        "officials said on Wednesday. The talks ended without a deal on tariffs.\n\n"
        "Negotiators agreed to meet again before the end of October in Kuala Lumpur.",
    ),
    "november.md": (
        "Harbour Post",
        "2025-11-10",
        "Washington cut its tariffs on Chinese goods to 47% after the Busan summit, "
        "officials said on Monday. The lower rate took effect on November 10.\n\n"
        "China agreed to suspend its export controls on rare earths for one year.",
    ),
    "november-wire.md": (
        "Coast Daily",
        "2025-11-11",
        "Tariffs on Chinese goods now stand at 47% following the summit in Busan, the "
        "White House confirmed on Tuesday. Markets in Asia rose on the news.",
    ),
}


def news_corpus(folder: Path) -> Path:
    """``folder/corpus``: a copy of the seeds and the three dated articles."""
    corpus = folder / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    for name, (source, published, text) in ARTICLES.items():
        title = text.split(",")[0]
        (corpus / name).write_text(
            f"---\ntitle: {title}\nsource: {source}\npublished: {published}\n---\n\n{text}\n",
            encoding="utf-8",
        )
    return corpus
