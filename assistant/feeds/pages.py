"""From a feed's entry and its page to an article.

The text is the page's, extracted with trafilatura exactly as an uploaded ``.html`` page is
(``articles.corpus.parse_html``: main text only, a size and a time limit, a page without an
article refused). The entry's own content is used instead only where the feed carries the
whole text: a full ``content`` (never a summary) with at least :data:`WHOLE_TEXT_SHARE` of the
page's words, or, when the page gave no article, at least :data:`WHOLE_TEXT_WORDS` words.

The rest, in order of trust:

* URL (and so the article's id): the entry's link after redirects, as fetched;
* title: the entry's, else the page's;
* date: the entry's (``published``, else ``updated``), else the page's metadata (with the
  fallbacks every article has: a date in the URL, an opening dateline), else unknown; never
  the time of polling;
* source: the page's site name, else the feed's title; language: the page's.
"""

from __future__ import annotations

import html

from assistant.articles.corpus import Article, ArticleError, parse_html
from assistant.feeds.addresses import shown
from assistant.feeds.parsing import FeedItem

#: The entry's content counts as the whole text with this share of the page's words.
WHOLE_TEXT_SHARE = 0.8
#: ... or, when the page gave no article, with this many words.
WHOLE_TEXT_WORDS = 150


def entry_article(
    item: FeedItem,
    feed_title: str | None,
    page_url: str | None,
    page: bytes | None,
    page_problem: str | None = None,
) -> Article:
    """The article of ``item``, from its page (fetched from ``page_url``) or its content.

    ``page_problem``: why there is no page (it could not be fetched). Raises
    :class:`~assistant.articles.corpus.ArticleError` when neither gives an article.
    """
    from_page: Article | None = None
    if page is not None and page_url is not None:
        try:
            from_page = parse_html(shown(page_url), page)
        except ArticleError as exc:
            page_problem = str(exc)
    from_feed = _content_article(item)
    text: str
    if from_page is not None:
        text = from_page.text
        if from_feed is not None and _words(from_feed) >= WHOLE_TEXT_SHARE * _words(from_page):
            text = from_feed.text
    elif from_feed is not None and _words(from_feed) >= WHOLE_TEXT_WORDS:
        text = from_feed.text
    else:
        raise ArticleError(page_problem or f"{shown(item.link)}: no article text")
    return Article.create(
        text=text,
        title=item.title or (from_page.title if from_page else None),
        source=(from_page.source if from_page else None) or feed_title,
        url=page_url or item.link,
        published=item.published or (from_page.published if from_page else None),
        language=from_page.language if from_page else None,
    )


def _content_article(item: FeedItem) -> Article | None:
    """The entry's full content as an article (through the same extraction), if any."""
    if not item.content_html:
        return None
    title = html.escape(item.title or "")
    document = (
        f"<!doctype html><html><head><title>{title}</title></head>"
        f"<body><article>{item.content_html}</article></body></html>"
    )
    try:
        return parse_html(f"{shown(item.link)} (the feed's content)", document.encode("utf-8"))
    except ArticleError:
        return None


def _words(article: Article) -> int:
    return len(article.text.split())
