"""Feeds: RSS and Atom subscriptions whose new entries become articles by themselves.

A face over the service, like ``watch`` is one over ``corpus/``: the subscriptions and their
state live in the index's record (``index/store/feeds``, ``index/backends/postgres/feeds``),
and what a poll brings goes in through :meth:`~assistant.service.AssistantService.ingest`, as
one new index version.

    addresses      which URLs may be fetched: http and https, never the operator's network
    fetching       one polite GET: conditional, bounded in time and size, redirects checked
    parsing        a feed's bytes (RSS 0.9x/1.0/2.0, Atom) to its entries, with feedparser
    pages          an entry and its page to an article (trafilatura, as for HTML uploads)
    polling        one poll of one feed: what changed, fetched, ingested, and the feed's state
    poller         the thread in ``assistant serve`` that polls each feed when it is due
    subscriptions  what the CLI and the admin API call: add, list, remove, poll now
"""
