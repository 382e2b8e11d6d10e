from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.cli import app
from tests.conftest import CORPUS

pytestmark = pytest.mark.slow
runner = CliRunner()


def test_index_then_ask_in_the_terminal(tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    built = runner.invoke(
        app, ["index", "--index-dir", str(index_dir), "--corpus-dir", str(CORPUS)]
    )
    assert built.exit_code == 0, built.output
    assert "index version 1: 2 articles" in built.output
    again = runner.invoke(
        app, ["index", "--index-dir", str(index_dir), "--corpus-dir", str(CORPUS)]
    )
    assert "already exists" in again.output
    answered = runner.invoke(
        app,
        ["ask", "Where will the U.S.-China trade talks be held?", "--index-dir", str(index_dir)],
    )
    assert answered.exit_code == 0, answered.output
    assert "Madrid" in answered.output and "[1]" in answered.output
    refused = runner.invoke(
        app, ["ask", "What is the recipe for paella?", "--index-dir", str(index_dir)]
    )
    assert "do not answer" in refused.output
    # A damaged manifest is repaired by `index`, not shown as a traceback.
    current = (index_dir / "CURRENT").read_text().strip()
    (index_dir / current).write_text("{ not json")
    repaired = runner.invoke(
        app, ["index", "--index-dir", str(index_dir), "--corpus-dir", str(CORPUS)]
    )
    assert repaired.exit_code == 0, repaired.output
    assert "index version 2 already exists" in repaired.output


def test_a_blank_question_is_refused() -> None:
    result = runner.invoke(app, ["ask", "  "])
    assert result.exit_code == 1


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("ASSISTANT_ANSWER_MODEL", "missing.json", ("answermodel", "missing.jsoncannotbeused")),
        ("ASSISTANT_READER_DIR", "no-reader", ("readerfilemissing", "no-reader")),
    ],
)
def test_an_unusable_setting_is_a_clear_start_up_error(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    value: str,
    expected: tuple[str, str],
) -> None:
    from assistant.config import get_settings

    monkeypatch.setenv(variable, str(tmp_path / value))
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["ask", "Where?", "--index-dir", str(tmp_path / "index")])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    flat = "".join(result.output.split())  # the console wraps long lines
    assert all(part in flat for part in expected), flat


def test_train_reader_refuses_a_missing_data_file(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["train-reader", str(tmp_path / "none.json"), "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 1
    assert "no such file" in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("floors", ["", "missing.json"])
def test_eval_refuses_unreadable_floors_before_answering(tmp_path: Path, floors: str) -> None:
    index_dir = tmp_path / "index"
    path = str(tmp_path / floors) if floors else floors  # "": the current folder
    result = runner.invoke(app, ["eval", "--floors", path, "--index-dir", str(index_dir)])
    assert result.exit_code == 1
    flat = "".join(result.output.split())
    assert "floors" in flat and "--no-floors" in flat, flat
    assert not index_dir.exists()  # failed before opening (or building) an index
