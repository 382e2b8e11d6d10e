"""Store: SQLite as the record of truth for articles, passages, sentences and their vectors.

Rows are never edited in place. An article row carries the index version that added it and
the one that removed it (``NULL`` while live); its passages and sentences live and die with
it. Reads that serve a question take the reader's index version and see exactly the rows of
that version, even while a writer has committed the next one. Rows removed in a published
version are deleted for good by :meth:`Store.purge`. Passage and sentence ids are never
reused (FAISS segments and tombstones refer to them), so they come from counters in ``meta``.

Vectors are kept as float32 BLOBs so that FAISS segments can be rebuilt from here without
the model. ``passages_fts`` (FTS5, rowid = passage id) serves lexical BM25 search.

Connections are per thread (SQLite objects must not cross threads); WAL mode lets readers
go on while a writer commits.

:class:`Store` is one class made of one part per concern, each in its own module:

    connection   the file: its schema and migration, per-thread connections, transactions
    ingest       writing an ingest, inside ``transaction()``: articles in and out, the log
    reads        versioned reads: articles, passages and sentences of one index version
    lexical      BM25 search over ``passages_fts`` and the term statistics answers weigh by
    maintenance  damaged files set aside, removed rows purged, vectors read back for FAISS
    feeds        feed subscriptions, their state and what each entry became
    records      the frozen values the reads return
"""

from __future__ import annotations

from assistant.index.store.feeds import FeedWrites
from assistant.index.store.ingest import IngestWrites
from assistant.index.store.lexical import LexicalSearch
from assistant.index.store.maintenance import Maintenance
from assistant.index.store.reads import VersionedReads


class Store(IngestWrites, VersionedReads, LexicalSearch, Maintenance, FeedWrites):
    """The SQLite record; safe to share between threads."""
