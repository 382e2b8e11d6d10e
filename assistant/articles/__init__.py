"""Articles: reading articles and cutting them into sentences and passages.

Takes in files (Markdown with front matter, plain text, HTML pages) or raw text; gives out
:class:`~assistant.articles.corpus.Article` values and their exact-offset
:class:`~assistant.articles.chunking.Chunks`, with the lexical view of text (``terms``) and
named entities (``entities``) that the later stages match on.

May import: ``assistant.config`` only. The first stage: it knows nothing of vectors, the
index, answers or the faces.
"""
