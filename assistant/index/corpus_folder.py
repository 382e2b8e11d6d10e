"""Corpus folder: ``corpus/`` kept in step with what is ingested, so a rebuild gives the same.

An article that arrives from elsewhere (the HTTP API, an HTML page, a file outside the
folder) is written into the folder as Markdown with front matter, named after its title and
id; a file already in the folder stays as it is. When an article is replaced or removed, the
file it came from goes too. Files are written atomically (temporary name, fsync, rename).
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from assistant.articles.corpus import Article, article_file_name, article_markdown
from assistant.index.segments import atomic_write

log = logging.getLogger(__name__)


class CorpusFolder:
    """The folder that ``assistant index --rebuild`` reads."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def holds(self, path: str | None) -> bool:
        """Whether ``path`` names a file inside this folder."""
        if not path:
            return False
        try:
            Path(path).resolve().relative_to(self.root.resolve())
        except ValueError:
            return False
        return True

    def save(self, article: Article) -> tuple[Article, bool]:
        """The article with its path in this folder, and whether a new file was written."""
        if self.holds(article.path):
            return article, False
        target = self.root / article_file_name(article)
        existed = target.exists()
        atomic_write(target, article_markdown(article).encode("utf-8"))
        return dataclasses.replace(article, path=str(target)), not existed

    def discard(self, path: str | None) -> None:
        """Delete ``path`` if it is a file of this folder (anything else is left alone)."""
        if not self.holds(path):
            return
        assert path is not None
        try:
            Path(path).unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            log.warning("could not delete %s from the corpus folder: %s", path, exc)
