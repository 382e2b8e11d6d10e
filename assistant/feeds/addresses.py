"""Which URLs the feed poller may fetch, and how they are written.

Only ``http`` and ``https``. A feed URL must not become a way into the operator's own
network: a host that resolves to a loopback, private, link-local or otherwise non-public
address is refused (``ASSISTANT_FEED_ALLOW_PRIVATE=true`` allows them all,
``ASSISTANT_FEED_ALLOWED_NETWORKS`` the ones it names), and ``fetching`` checks
every address it connects to, each redirect included, so a public name that points inside
later, or a redirect to one, is refused too.

Links are compared in one form (:func:`entry_link`): no fragment and no ``utm_*`` tracking
parameters, so an entry that comes back with other tracking is still the same entry.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

SCHEMES = ("http", "https")
_DEFAULT_PORTS = {"http": 80, "https": 443}
#: Longest URL accepted for a feed.
MAX_URL_CHARS = 2048

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class UrlRefusedError(ValueError):
    """A URL the poller will not fetch; the message says why."""


def feed_url(url: str) -> str:
    """``url`` as a feed is kept: checked, scheme and host in lower case, no default port,
    no fragment. Raises :class:`UrlRefusedError` with the reason."""
    url = url.strip()
    if not url:
        raise UrlRefusedError("the feed URL is empty")
    if len(url) > MAX_URL_CHARS:
        raise UrlRefusedError(f"the feed URL is over {MAX_URL_CHARS:,} characters")
    if any(c.isspace() or ord(c) < 32 for c in url):
        raise UrlRefusedError("the feed URL contains white space or control characters")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        shown = f"{scheme!r} URLs" if scheme else "a URL without a scheme"
        raise UrlRefusedError(f"only http and https feeds can be added, not {shown}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError as exc:  # a port that is not a number, or out of range
        raise UrlRefusedError(f"the feed URL's address is not valid ({exc})") from exc
    if not host:
        raise UrlRefusedError("the feed URL has no host")
    if parts.username is not None or parts.password is not None:
        raise UrlRefusedError("user names and passwords in feed URLs are not supported")
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def entry_link(link: str, base: str) -> str | None:
    """An entry's link as it is compared and fetched: absolute, http(s), no fragment, no
    ``utm_*`` parameters; ``None`` when it is not a web address."""
    absolute = urljoin(base, link.strip())
    parts = urlsplit(absolute)
    if parts.scheme.lower() not in SCHEMES or not parts.netloc:
        return None
    query = parse_qsl(parts.query, keep_blank_values=True)
    kept = [(k, v) for k, v in query if not k.lower().startswith("utm_")]
    clean = parts.query if len(kept) == len(query) else urlencode(kept)
    return urlunsplit((parts.scheme.lower(), parts.netloc, parts.path or "/", clean, ""))


def shown(url: str) -> str:
    """``url`` for messages and pages: without its query (which may hold a token)."""
    parts = urlsplit(url)
    if not parts.netloc:
        return url[:200]
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc = f"{netloc}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "…" if parts.query else "", ""))


def networks(text: str) -> tuple[IPNetwork, ...]:
    """Comma-separated addresses and networks (``ASSISTANT_FEED_ALLOWED_NETWORKS``)."""
    return tuple(
        ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip()
    )


def refusal(address: IPAddress, allowed: tuple[IPNetwork, ...] = ()) -> str | None:
    """Why ``address`` is not fetched from, or ``None`` for a public address or one in the
    ``allowed`` networks."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in network for network in allowed):
        return None
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_unspecified or address.is_multicast:
        return "not a unicast address"
    if address.is_private:
        return "a private address"
    if address.is_reserved:
        return "not a unicast address"
    if not address.is_global:
        return "not a public address"
    return None


def literal_refusal(host: str, allowed: tuple[IPNetwork, ...] = ()) -> str | None:
    """For a host written as an address (or ``localhost``), why it is refused; else None.

    Names are resolved, and checked, when the feed is fetched."""
    name = host.strip("[]").lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        name = "127.0.0.1"
    try:
        return refusal(ipaddress.ip_address(name), allowed)
    except ValueError:
        return None
