"""The one-way rule: no module under ``assistant/`` imports from a stage after its own.

The stages, in the order data flows (``assistant/__init__.py`` has the same list):
``articles`` → ``index`` → ``answers`` → ``service``, ``evaluation`` → the faces (``http``,
``cli``, ``watch``, ``feeds``). A module may import its own stage and the ones before it.
``config`` is the one exception: it imports nothing from the package, and every stage may
read it.
``runtime`` (a model thread, the heap) sits below the stages, importing none of them.

Every module is parsed with :mod:`ast` (nothing is imported), and every import counts: at the
top, inside a function, under ``TYPE_CHECKING``, relative or absolute.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGE = ROOT / "assistant"

#: Module (or package) name prefix → its stage's rank; the longest prefix wins.
STAGES: dict[str, int] = {
    "assistant": 0,  # the package's own __init__: only the version and the docstring
    "assistant.config": 0,
    "assistant.runtime": 0,  # how models run in a process: below every stage that has one
    "assistant.articles": 1,
    "assistant.index": 2,
    "assistant.answers": 3,
    "assistant.service": 4,
    "assistant.evaluation": 4,
    "assistant.http": 5,
    "assistant.cli": 5,
    "assistant.watch": 5,
    "assistant.feeds": 5,
}
#: Modules that must import nothing from the package at all.
LEAVES = ("assistant", "assistant.config")
#: ``assistant/`` itself holds at most this many modules; the rest live in the stages.
MAX_TOP_LEVEL_MODULES = 6


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def stage(module: str) -> int | None:
    """The rank of ``module``'s stage, or ``None`` when it belongs to none."""
    for prefix in sorted(STAGES, key=len, reverse=True):
        if module == prefix or (prefix != "assistant" and module.startswith(prefix + ".")):
            return STAGES[prefix]
    return None


def imported(module: str, source: str, *, is_package: bool = False) -> Iterator[tuple[int, str]]:
    """(line, module) for every import of a package module in ``source``.

    ``from X import name`` yields ``X`` and ``X.name``: ``name`` may be a submodule of a
    later stage (``from assistant import http``), so both are checked.
    """
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "assistant":
                    yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if target.split(".")[0] != "assistant":
                continue
            yield node.lineno, target
            for alias in node.names:
                yield node.lineno, f"{target}.{alias.name}"


def violations(sources: Mapping[str, tuple[str, bool]]) -> list[str]:
    """Every import of a later stage, and every module without a stage.

    ``sources``: module name → (its source, whether it is a package ``__init__``).
    """
    found: list[str] = []
    for module, (source, is_package) in sorted(sources.items()):
        own = stage(module)
        if own is None:
            found.append(f"{module}: belongs to no stage (add it to one, or to STAGES)")
            continue
        for line, target in imported(module, source, is_package=is_package):
            if module in LEAVES:
                found.append(f"{module}:{line} imports {target}; it must import nothing")
                continue
            theirs = stage(target)
            if theirs is not None and theirs > own:
                found.append(f"{module}:{line} imports {target}, a stage after its own")
    return found


def package_sources() -> dict[str, tuple[str, bool]]:
    return {
        module_name(path): (path.read_text(encoding="utf-8"), path.name == "__init__.py")
        for path in sorted(PACKAGE.rglob("*.py"))
    }


def test_no_module_imports_from_a_stage_after_its_own() -> None:
    sources = package_sources()
    assert len(sources) > 30  # the whole package was read
    assert violations(sources) == []


def test_assistant_holds_at_most_six_modules_directly() -> None:
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL_MODULES, top


@pytest.mark.parametrize(
    ("module", "source", "bad"),
    [
        # an index module reaching up to answers: absolute, in a function, and relative
        ("assistant.index.store", "from assistant.answers.retrieval import Candidate\n", True),
        ("assistant.index.store", "def f():\n    import assistant.service\n", True),
        ("assistant.index.store", "from ..answers import retrieval\n", True),
        ("assistant.index.store", "from .. import http\n", True),
        # answers importing a face, named as a submodule of the package
        ("assistant.answers.answering", "from assistant.http import web\n", True),
        ("assistant.service", "from assistant import cli\n", True),
        # config and the package root import nothing from the package
        ("assistant.config", "from assistant.articles.terms import words\n", True),
        ("assistant.articles.corpus", "from assistant.watch import CorpusWatcher\n", True),
        # a module outside every stage
        ("assistant.reader", "import json\n", True),
        # allowed: the own stage, the stages before, config, third parties
        ("assistant.index.store", "from assistant.articles.corpus import Article\n", False),
        ("assistant.index.store", "from .segments import atomic_write\n", False),
        ("assistant.answers.answering", "from assistant.index.store import Store\n", False),
        ("assistant.http.web", "from assistant.service import AskResult\n", False),
        ("assistant.cli", "from assistant.http.api import create_app\n", False),
        ("assistant.watch", "from assistant.config import Settings\nimport numpy\n", False),
    ],
)
def test_the_check_finds_a_violation_and_only_a_violation(
    module: str, source: str, bad: bool
) -> None:
    assert bool(violations({module: (source, False)})) is bad


def test_a_relative_import_in_a_package_init_resolves_from_the_package() -> None:
    # In assistant/index/__init__.py ``.`` is assistant.index itself, ``..`` is assistant.
    found = list(imported("assistant.index", "from .store import Store\n", is_package=True))
    assert (1, "assistant.index.store") in found
    source = "from ..answers import retrieval\n"
    assert violations({"assistant.index": (source, True)}) != []
    assert violations({"assistant.index.store": (source, True)}) == []  # assistant.index.answers
