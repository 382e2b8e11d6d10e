"""A self-hosted assistant that answers questions about news articles, verbatim and cited.

The pipeline, one module per step: ``corpus`` → ``chunking`` → ``embedding`` → ``store`` /
``index`` (``indexing`` writes them) → ``conversation`` → ``retrieval`` → ``answering`` →
``service`` → faces (``api``, ``cli``). Settings live in ``config``.
"""

__version__ = "0.1.0"
