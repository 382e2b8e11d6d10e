"""Index: vectors and the record, written once per index version.

Takes in articles and their chunks (``assistant.articles``); gives out published index
versions: the SQLite record (``store``: articles, passages, sentences, vectors, FTS5), the
immutable FAISS segments with their manifests and the ``CURRENT`` pointer (``segments``),
the embedder that makes the vectors (``embedding``), and the one writer of versions
(``indexing``: builds, ingests, recovery).

``corpus_folder`` lives here, not in ``articles``: it keeps ``corpus/`` in step with what the
record holds (the files of replaced and removed articles go with them) and writes through
``segments.atomic_write``, so it belongs with the writer it follows.

May import: ``assistant.config`` and ``assistant.articles``; never ``answers``, the service
or the faces.
"""
