"""Answers: from a question to an answer, on one index version.

Takes in a question with its conversation history and a version of the index (the store and
its FAISS segments); gives out the rewritten query (``conversation``), ranked candidate
passages (``retrieval``), what kind of answer the question asks for (``answer_types``) and
the chosen answer sentence, its short answer, confidence and citations (``answering``, with
its weights in the package data file ``answer_model.json``).

May import: ``assistant.config``, ``assistant.articles`` and ``assistant.index``; never the
service or the faces.
"""
