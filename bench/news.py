"""News-aware answers on the seeds plus ../shared/news, by question type.

    .venv/bin/python bench/news.py [--questions eval/news_questions.yaml] [--news-articles 5]
        [--failures] [--json FILE]

Builds an index in a temporary folder from ``corpus/`` and the 39 articles of
``../shared/news/`` (linked there, never copied into the project), asks every question of
the set through the service, and prints ``assistant eval``'s figures per type, with the news
ones: ``article_right`` (the answer comes from the article that should answer: the newest
for ``latest``, the named time's for ``named``), ``earlier_shown``, ``corroboration_recall``,
``summary_answered`` and ``summary_relevant``. ``--news-articles 0`` answers without news
awareness (the best answer only), for the before/after comparison.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from assistant.config import Settings
from assistant.evaluation import evaluate, load_questions
from assistant.service import AssistantService

ROOT = Path(__file__).resolve().parent.parent
NEWS = ROOT.parent / "shared" / "news"
SHOWN = (
    "questions",
    "hit@1",
    "f1",
    "article_right",
    "earlier_shown",
    "corroboration_recall",
    "summary_answered",
    "summary_relevant",
    "abstention_recall",
    "wrongly_refused",
)


def linked_corpus(folder: Path, sources: list[Path]) -> Path:
    """A corpus folder of symbolic links to the articles of ``sources``."""
    folder.mkdir(parents=True, exist_ok=True)
    for source in sources:
        for path in sorted(source.glob("*.md")):
            if path.name.lower() != "readme.md":
                (folder / path.name).symlink_to(path.resolve())
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=Path, default=ROOT / "eval" / "news_questions.yaml")
    parser.add_argument("--news", type=Path, default=NEWS)
    parser.add_argument("--news-articles", type=int, default=None)
    parser.add_argument("--failures", action="store_true", help="list every miss")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    questions = load_questions(args.questions)
    with tempfile.TemporaryDirectory() as tmp:
        corpus = linked_corpus(Path(tmp) / "corpus", [ROOT / "corpus", args.news])
        settings = Settings(
            corpus_dir=corpus,
            index_dir=Path(tmp) / "index",
            **({} if args.news_articles is None else {"news_articles": args.news_articles}),
        )
        service = AssistantService.open(settings)
        try:
            report = evaluate(service, questions)
        finally:
            service.close()
    figures = report.figures()
    out = sys.stdout
    out.write(f"{'figure':<22}" + "".join(f"{g:>15}" for g in figures) + "\n")
    for name in SHOWN:
        cells = [figures[g].get(name) for g in figures]
        if all(c is None for c in cells):
            continue
        digits = 0 if name == "questions" else 1 if name == "f1" else 3
        out.write(
            f"{name:<22}"
            + "".join(f"{'':>15}" if c is None else f"{c:>15.{digits}f}" for c in cells)
            + "\n"
        )
    if args.failures:
        for o in report.outcomes:
            q = o.question
            wrong_article = bool(q.articles) and q.type != "summary" and o.article not in q.articles
            if (q.answerable and (not o.hit or wrong_article)) or (not q.answerable and o.answered):
                out.write(
                    f"{q.id} {q.question!r} -> {o.article} {o.short!r}"
                    f" (want {q.answers[:2]} from {q.articles[:2]})\n"
                )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
