"""Damaged index files at start-up: detected, repaired, logged once, nothing indexed lost.

Each test builds an index of the seeds plus one ingested article (two segments), closes it,
damages one file, and opens the service again as a server would. A missing or damaged
``CURRENT``, manifest or segment file is republished from the vectors the store keeps (the
store's rows and ids unchanged: nothing re-embedded); a missing or damaged store is rebuilt
from ``corpus/``. Either way the index ends consistent, answers every earlier article, takes
the next ingest, and the next start is quiet.
"""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from assistant.articles.corpus import Article
from assistant.config import Settings
from assistant.index.indexing import Action
from assistant.index.segments import CURRENT_FILE, STORE_FILE, IndexDirectory, Manifest, VectorKind
from assistant.service import AssistantService
from tests.conftest import CORPUS
from tests.http.test_live_server import assert_consistent

pytestmark = pytest.mark.slow

FERRY = Article.create(
    title="Ferry service resumes", text="The ferry between Tarifa and Tangier resumed on Monday."
)
#: Question, a part of its answer, and the corpus file of the article that answers it
#: (``None``: the article ingested through the service, which keeps it in corpus/).
QUESTIONS: list[tuple[str, str, str | None]] = [
    (
        "Where will the U.S.-China trade talks resume?",
        "Madrid",
        "us-china-trade-talks-resume-in-madrid.md",
    ),
    (
        "What share of Americans support the TikTok ban?",
        "one-third",
        "us-china-trade-talks-in-madrid-strategic-priorities.md",
    ),
    ("Which ferry resumed on Monday?", "Tarifa", None),
]


@dataclass(frozen=True)
class Seeded:
    """A closed index over a private corpus, and what it must still answer after damage."""

    settings: Settings
    manifest: Manifest
    expected: list[tuple[str, str, str]]  # question, part of the answer, cited article id

    @property
    def root(self) -> Path:
        return self.settings.index_dir


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    """Built once: the seeds plus one article ingested through the service."""
    root = tmp_path_factory.mktemp("faults")
    shutil.copytree(CORPUS, root / "corpus")
    settings = Settings(corpus_dir=root / "corpus", index_dir=root / "index")
    service = AssistantService.open(settings)
    report = service.ingest([FERRY])
    assert [o.action for o in report.outcomes] == [Action.ADDED]
    ids = {Path(a.path or "").name: a.id for a in service.articles()}
    assert len(ids) == 3 and all(name in ids for _, _, name in QUESTIONS if name)
    expected = [(q, part, ids[name] if name else FERRY.id) for q, part, name in QUESTIONS]
    manifest = service.snapshot().manifest
    assert len(manifest.segments) == 2  # the seeds' segment and the ingest's
    service.close()
    return Seeded(settings, manifest, expected)


@pytest.fixture
def seeded(template: Seeded, tmp_path: Path) -> Seeded:
    """A private copy of the template (copying costs far less than building it again)."""
    source = template.settings
    settings = Settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")
    shutil.copytree(source.corpus_dir, settings.corpus_dir)
    shutil.copytree(source.index_dir, settings.index_dir)
    # The store records each article's file: point it at the copy, as if built there.
    with sqlite3.connect(settings.index_dir / STORE_FILE) as conn:
        conn.execute(
            "UPDATE articles SET path = replace(path, ?, ?)",
            (str(source.corpus_dir), str(settings.corpus_dir)),
        )
    conn.close()
    return Seeded(settings, template.manifest, template.expected)


def warnings_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The assistant's own warnings (and worse) captured so far."""
    return [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("assistant") and r.levelno >= logging.WARNING
    ]


def store_ids(root: Path) -> dict[str, set[int]]:
    """Live passage and sentence ids in the store (new ids would mean re-embedded rows)."""
    with sqlite3.connect(root / STORE_FILE) as conn:
        return {
            kind: {
                int(r[0])
                for r in conn.execute(
                    f"SELECT t.id FROM {kind} t JOIN articles a ON a.row = t.article_row"
                    " WHERE a.removed_version IS NULL"
                )
            }
            for kind in ("passages", "sentences")
        }


def assert_answers(service: AssistantService, expected: list[tuple[str, str, str]]) -> None:
    """Every question answered from the article that holds its answer."""
    for question, part, article_id in expected:
        result = service.ask(question)
        assert result.answer.answered, question
        assert part in (result.answer.text or ""), question
        assert result.citations[0].passage.article_id == article_id, question


def assert_next_ingest_works(service: AssistantService) -> None:
    article = Article.create(
        title="Tea harvest shrinks", text="Kenya's tea harvest shrank by 9 percent in August."
    )
    report = service.ingest([article])
    assert [o.action for o in report.outcomes] == [Action.ADDED]
    assert_answers(
        service, [("By how much did Kenya's tea harvest shrink?", "9 percent", article.id)]
    )


def assert_quiet_restart(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    """The repaired index opens again consistent and with nothing to warn about."""
    caplog.clear()
    assert_consistent(settings).close()
    assert warnings_logged(caplog) == []


def flip_bytes(path: Path) -> None:
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 16] = bytes(b ^ 0xFF for b in data[middle : middle + 16])
    path.write_bytes(bytes(data))


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def delete(path: Path) -> None:
    path.unlink()


@pytest.mark.parametrize(
    ("damage", "segment", "kind"),
    [
        (flip_bytes, 1, "passages"),  # the ingest's segment
        (truncate, 0, "sentences"),  # the seeds' segment
        (delete, 0, "passages"),
    ],
    ids=["flipped", "truncated", "deleted"],
)
def test_a_damaged_segment_is_republished_from_the_store(
    seeded: Seeded,
    caplog: pytest.LogCaptureFixture,
    damage: Callable[[Path], None],
    segment: int,
    kind: VectorKind,
) -> None:
    bad = seeded.root / seeded.manifest.segments[segment].file(kind).file
    before = store_ids(seeded.root)
    damage(bad)
    service = assert_consistent(seeded.settings)
    [warning] = warnings_logged(caplog)
    assert str(bad) in warning and "republishing" in warning
    assert service.snapshot().manifest.version == seeded.manifest.version + 1
    assert store_ids(seeded.root) == before  # nothing re-embedded, nothing lost
    assert_answers(service, seeded.expected)
    assert_next_ingest_works(service)
    service.close()
    assert_quiet_restart(seeded.settings, caplog)


def truncate_manifest(root: Path, manifest: Manifest) -> str:
    truncate(root / manifest.file_name)
    return manifest.file_name


def garble_manifest(root: Path, manifest: Manifest) -> str:
    (root / manifest.file_name).write_bytes(b"\x00\xffnot json at all")
    return manifest.file_name


def drop_manifest_field(root: Path, manifest: Manifest) -> str:
    data = json.loads((root / manifest.file_name).read_text())
    del data["segments"]
    (root / manifest.file_name).write_text(json.dumps(data))
    return manifest.file_name


def delete_manifest(root: Path, manifest: Manifest) -> str:
    (root / manifest.file_name).unlink()
    return manifest.file_name


def delete_current(root: Path, manifest: Manifest) -> str:
    (root / CURRENT_FILE).unlink()
    return CURRENT_FILE


@pytest.mark.parametrize(
    "damage",
    [truncate_manifest, garble_manifest, drop_manifest_field, delete_manifest, delete_current],
    ids=["truncated-manifest", "not-json", "missing-field", "missing-manifest", "missing-current"],
)
def test_a_damaged_manifest_or_current_is_republished_from_the_store(
    seeded: Seeded,
    caplog: pytest.LogCaptureFixture,
    damage: Callable[[Path, Manifest], str],
) -> None:
    before = store_ids(seeded.root)
    bad = damage(seeded.root, seeded.manifest)
    service = assert_consistent(seeded.settings)
    [warning] = warnings_logged(caplog)
    assert bad in warning and "republishing" in warning
    assert service.snapshot().manifest.version == seeded.manifest.version + 1
    assert store_ids(seeded.root) == before
    assert_answers(service, seeded.expected)
    assert_next_ingest_works(service)
    service.close()
    assert_quiet_restart(seeded.settings, caplog)


def garble_store(path: Path) -> None:
    path.write_bytes(b"this is not a SQLite database\n" * 200)


@pytest.mark.parametrize(
    ("damage", "symptom"),
    [
        (garble_store, "is damaged (file is not a database"),
        (truncate, "is damaged (database disk image is malformed"),
        (delete, "is missing"),
    ],
    ids=["garbage", "truncated", "deleted"],
)
def test_a_damaged_store_is_rebuilt_from_the_corpus(
    seeded: Seeded,
    caplog: pytest.LogCaptureFixture,
    damage: Callable[[Path], None],
    symptom: str,
) -> None:
    store = seeded.root / STORE_FILE
    # The last connection closed checkpointed the WAL: the whole store is in the one file.
    assert not store.with_name(STORE_FILE + "-wal").exists()
    damage(store)
    broken = seeded.settings.corpus_dir / "zz-broken.md"
    broken.write_bytes(b"\xff\xfe not utf-8")
    service = assert_consistent(seeded.settings)
    warnings = warnings_logged(caplog)
    assert len(warnings) == 2, warnings
    assert f"{store} {symptom}" in warnings[0]
    assert "rebuilding the index from the articles in" in warnings[0]
    assert "skipped" in warnings[1] and broken.name in warnings[1]
    if damage is not delete:  # the damaged file is kept for inspection, not deleted
        kept = seeded.root.glob(f"{STORE_FILE}.damaged-*")
        assert len([p for p in kept if not p.name.endswith(("-wal", "-shm"))]) == 1
    assert service.snapshot().manifest.version == seeded.manifest.version + 1
    assert {e.action for e in service.ingest_log()} == {"rebuilt"}
    assert_answers(service, seeded.expected)  # the ingested article came back from corpus/
    assert_next_ingest_works(service)
    service.close()
    assert_quiet_restart(seeded.settings, caplog)


def test_a_healthy_index_opens_without_a_repair(
    seeded: Seeded, caplog: pytest.LogCaptureFixture
) -> None:
    files = index_files(seeded.root)
    service = assert_consistent(seeded.settings)
    assert warnings_logged(caplog) == []
    assert service.snapshot().manifest == seeded.manifest
    assert IndexDirectory(seeded.root).current_manifest() == seeded.manifest
    service.close()
    assert index_files(seeded.root) == files


def index_files(root: Path) -> dict[str, bytes]:
    """CURRENT, the manifests and the segments, by name (the store's WAL comes and goes)."""
    names = [root / CURRENT_FILE, *root.glob("manifest-*.json"), *root.glob("segments/*")]
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in names}
