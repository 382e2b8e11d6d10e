"""The reader's files and card, without loading torch: what the CLI and the service name at
start-up (a reader file that is missing or does not fit is a start-up error)."""

from __future__ import annotations

import json
from pathlib import Path

#: The reader the assistant answers with unless ``ASSISTANT_READER_DIR`` names another.
DEFAULT_READER = Path(__file__).with_name("trained")
WEIGHTS_FILE = "reader.safetensors"
CARD_JSON = "reader.json"
CALIBRATION_FILE = "calibration.json"


class ReaderFileError(RuntimeError):
    """The reader's files are missing, damaged or do not fit the base model."""


CARD_FILE = "README.md"


def write_card(directory: Path) -> Path:
    """The model card (``README.md``) from the reader's ``reader.json`` and calibration."""
    card = json.loads((directory / CARD_JSON).read_text(encoding="utf-8"))
    calibration_path = directory / CALIBRATION_FILE
    calibration = (
        json.loads(calibration_path.read_text(encoding="utf-8"))
        if calibration_path.is_file()
        else None
    )
    settings = card.get("settings", {})
    lines = [
        "# The reader's weights",
        "",
        "A span reader (``BertForQuestionAnswering``) over the packaged all-MiniLM-L6-v2",
        "encoder. This folder holds only what training changed (the word embeddings stay",
        "the base's, frozen), in float16; ``assistant/answers/reader/files.py`` lays it over",
        "the base and refuses a base whose frozen tensors differ (``base_fingerprint``).",
        "",
        "## Data",
        "",
        *[f"- `{d['file']}` (sha256 `{d['sha256']}`)" for d in card.get("data", [])],
        f"- {card.get('train_questions', '?')} training questions, "
        f"{card.get('held_out_questions', '?')} held out (whole articles); "
        f"{card.get('windows', '?')} windows trained on, "
        f"{card.get('answerless_windows', '?')} of them answerless: the data's own "
        "unanswerable questions (SQuAD 2.0's, on their paragraphs, over the plausible wrong "
        "span where it is given), and windows made from answerable questions (the answer "
        "sentence removed, another paragraph of the article, a window without the answer"
        + (
            "; the question changed so that its paragraph no longer answers it: another "
            "name, number or antonym, a negation"
            if settings.get("perturbed_rate")
            else ""
        )
        + ")"
        + (
            "; answer windows asked in other words too (WordNet synonyms its paragraph does "
            "not use)"
            if settings.get("paraphrased_rate")
            else ""
        ),
        *[
            f"- the tune half of `{t['file']}`'s articles (sha256 `{t['sha256']}`): "
            f"{t['questions']} questions, {card.get('tune_windows', '?')} windows; its other "
            "half (`bench/squad.py --half measure`) was never trained or calibrated on"
            for t in card.get("tune_half", [])
        ],
        "",
        "## Settings",
        "",
        *[f"- {name}: {value}" for name, value in settings.items()],
        *(
            [f"- read at answer time in windows of {card['read_length']} tokens (read_length)"]
            if card.get("read_length")
            else []
        ),
        f"- started from: {card.get('start_from') or 'the base encoder'}",
        *([f"- command: `{card['command']}`"] if card.get("command") else []),
        *([f"- note: {card['note']}"] if card.get("note") else []),
        "",
        "## Time to train",
        "",
        f"- {card.get('seconds', '?')} s on {card.get('machine', '?')}",
        "",
        "## Figures",
        "",
        f"- training loss, first tenth of the steps: {card.get('loss_first_tenth')}; "
        f"last tenth: {card.get('loss_last_tenth')}",
        f"- held-out windows: {json.dumps(card.get('held_out', {}))}",
    ]
    previous = card.get("previous")
    while previous:
        lines += [
            "",
            "## The stage it started from",
            "",
            *[f"- `{d['file']}` (sha256 `{d['sha256']}`)" for d in previous.get("data", [])],
            f"- {previous.get('windows', '?')} windows; settings: "
            + ", ".join(f"{k} {v}" for k, v in previous.get("settings", {}).items()),
            f"- {previous.get('seconds', '?')} s; held-out windows: "
            + json.dumps(previous.get("held_out", {})),
            *([f"- command: `{previous['command']}`"] if previous.get("command") else []),
            *([f"- note: {previous['note']}"] if previous.get("note") else []),
        ]
        previous = previous.get("previous")
    if calibration is not None:
        lines += [
            "",
            "## Calibration (`calibration.json`)",
            "",
            f"- confidence = sigmoid({calibration['bias']:.3f} + "
            + " + ".join(f"{w:.3f} · {f}" for f, w in calibration["weights"].items())
            + f"); refuse below {calibration['threshold']}"
            + (
                f" ({calibration['threshold_at_squad_share']} for SQuAD's share of answerable "
                "questions, a half)"
                if "threshold_at_squad_share" in calibration
                else ""
            ),
            f"- {calibration.get('about', 'fitted on SQuAD 2.0 dev-half')}; held out by article "
            "(folds of those articles): " + json.dumps(calibration.get("held_out", {})),
            *(
                [
                    "- held out at SQuAD's share: "
                    + json.dumps(calibration["held_out_at_squad_share"])
                ]
                if "held_out_at_squad_share" in calibration
                else []
            ),
        ]
    path = directory / CARD_FILE
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
