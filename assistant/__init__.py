"""A self-hosted assistant that answers questions about news articles, verbatim and cited.

The package reads like the pipeline, data flowing one way, down this list:

    runtime/     how models run in a process (one model thread, the heap); below every stage
    articles/    reading and cutting articles (corpus, chunking, terms, entities)
    index/       vectors and the record (embedding, store, segments, indexing, corpus_folder)
    answers/     from a question to an answer (conversation, retrieval, answer_types, answering)
    service.py   the one object the faces call; evaluation.py measures answers through it
    http/        the faces over HTTP (api, admin, web, guards, schemas, ...)
    cli.py       the face in the terminal; watch.py, the face on corpus/ (``serve --watch``)
    feeds/       the face on RSS and Atom feeds: subscriptions, polite polling, live ingest

A module may import from its own stage and from the stages listed before it, never from one
listed after it (``tests/test_layers.py`` checks every module). ``config.py``, the settings,
imports nothing from the package and every stage may read it: the one exception.
"""

__version__ = "0.1.0"
