"""One polite, bounded GET of a feed or an article page.

:func:`fetch` follows redirects itself (at most :data:`MAX_REDIRECTS`, a loop named as one),
and for every hop checks the scheme, resolves the host, refuses non-public addresses
(``addresses.refusal``, unless allowed) and connects to the very address it checked, so a
name cannot resolve to a public address for the check and a private one for the connection.
It sends a clear ``User-Agent`` and, when it has them, ``If-None-Match`` and
``If-Modified-Since``: an unchanged feed costs one ``304``.

Bounds: the whole request, from resolving the host to the last byte, has ``timeout``
seconds (a server that trickles its answer is cut off); a body over ``max_bytes`` (declared,
counted while read, or once decompressed) is refused without reading on. ``429`` and ``503``
come back with their ``Retry-After`` in seconds. Every failure is a :class:`FetchError` whose
message says what happened, in words, naming the URL without its query.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import http.client
import ipaddress
import socket
import ssl
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from assistant.feeds.addresses import SCHEMES, IPAddress, IPNetwork, refusal, shown

#: Redirects followed at most for one request.
MAX_REDIRECTS = 5
#: Bytes read from the socket at a time.
READ_CHUNK = 64 * 1024
#: What a feed request accepts, most wanted first.
FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.1"
)
#: What a page request accepts.
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"
_REDIRECTS = (301, 302, 303, 307, 308)

# Host names are resolved in these threads, so that a resolver that hangs costs the request
# its timeout and no more (getaddrinfo itself takes none).
_RESOLVER = ThreadPoolExecutor(max_workers=4, thread_name_prefix="feed-resolver")


@dataclass(frozen=True)
class FetchOptions:
    """The bounds and manners of every request (from ``Settings.feed_*``)."""

    timeout: float = 20.0
    max_bytes: int = 10 * 1024 * 1024
    user_agent: str = "news-assistant/0.1"
    allow_private: bool = False
    allowed_networks: tuple[IPNetwork, ...] = ()  # fetched from even though not public


@dataclass(frozen=True)
class Fetched:
    """A response: ``200`` with its body, or ``304`` (not modified) without one."""

    url: str  # after redirects
    status: int
    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = None
    redirects: list[str] = field(default_factory=list)  # the URLs before ``url``

    @property
    def not_modified(self) -> bool:
        return self.status == 304


class FetchError(Exception):
    """A request that brought nothing usable; ``retry_after``: seconds the server asked for
    (429, 503); ``status``: its HTTP status when it answered with one."""

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after

    @property
    def slow_down(self) -> bool:
        """The server asked for fewer requests (429 Too Many Requests, 503 Unavailable)."""
        return self.status in (429, 503)


def fetch(
    url: str,
    options: FetchOptions,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    accept: str = FEED_ACCEPT,
) -> Fetched:
    """GET ``url``, following redirects; raises :class:`FetchError` with the reason."""
    deadline = time.monotonic() + options.timeout
    headers = {"User-Agent": options.user_agent, "Accept": accept}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    visited: list[str] = []
    current = url
    while True:
        status, reason, response_headers, body = _request(current, options, deadline, headers)
        if status not in _REDIRECTS:
            break
        location = response_headers.get("location")
        if not location:
            raise FetchError(
                f"{shown(current)} answered HTTP {status} {reason} without a Location",
                status=status,
            )
        visited.append(current)
        target = urljoin(current, location.strip()).split("#", 1)[0]
        if target in visited:
            chain = " → ".join(shown(u) for u in [*visited, target])
            raise FetchError(f"redirect loop: {chain}", status=status)
        if len(visited) > MAX_REDIRECTS:
            raise FetchError(
                f"{shown(url)} redirects more than {MAX_REDIRECTS} times (last to {shown(target)})",
                status=status,
            )
        current = target
    if status == 304:
        return Fetched(
            current,
            304,
            etag=response_headers.get("etag") or etag,
            last_modified=response_headers.get("last-modified") or last_modified,
            redirects=visited,
        )
    if status in (429, 503):
        wait = retry_after(response_headers.get("retry-after"))
        asked = f"; it asks to wait {wait:.0f} s" if wait is not None else ""
        raise FetchError(
            f"{shown(current)} answered HTTP {status} {reason}{asked}",
            status=status,
            retry_after=wait,
        )
    if status != 200:
        raise FetchError(f"{shown(current)} answered HTTP {status} {reason}", status=status)
    return Fetched(
        current,
        200,
        body,
        etag=response_headers.get("etag"),
        last_modified=response_headers.get("last-modified"),
        content_type=response_headers.get("content-type"),
        redirects=visited,
    )


def retry_after(value: str | None, now: dt.datetime | None = None) -> float | None:
    """A ``Retry-After`` header in seconds from now: a number of seconds, or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - (now or dt.datetime.now(dt.UTC))).total_seconds())


def _remaining(deadline: float, url: str, timeout: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise FetchError(f"{shown(url)} took longer than {timeout:.0f} s; stopped waiting")
    return left


def _request(
    url: str, options: FetchOptions, deadline: float, headers: dict[str, str]
) -> tuple[int, str, dict[str, str], bytes]:
    """One request without following redirects: (status, reason, headers, body)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise FetchError(f"{shown(url)}: only http and https are fetched, not {scheme or '?'!r}")
    try:
        host, port = parts.hostname, parts.port or (443 if scheme == "https" else 80)
    except ValueError as exc:
        raise FetchError(f"{shown(url)}: not a valid address ({exc})") from exc
    if not host:
        raise FetchError(f"{url[:200]}: no host")
    addresses = _resolve(host, port, deadline, url, options)
    sock = _connect(addresses, port, deadline, url, options)
    # Each socket call has the time left as its timeout, but a server can answer every call
    # in time and still never finish (a header line a second): past the deadline, the
    # watchdog shuts the socket, and whatever was reading fails at once.
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)

    watchdog = threading.Timer(max(0.0, deadline - time.monotonic()), expire)
    watchdog.daemon = True
    watchdog.start()
    connection: http.client.HTTPConnection
    try:
        if scheme == "https":
            sock.settimeout(_remaining(deadline, url, options.timeout))
            try:
                sock = ssl.create_default_context().wrap_socket(sock, server_hostname=host)
            except (ssl.SSLError, ssl.CertificateError) as exc:
                reason = f"{exc.__class__.__name__}: {exc}"
                raise FetchError(f"{shown(url)}: TLS failed ({reason})") from exc
            connection = http.client.HTTPSConnection(host, port)
        else:
            connection = http.client.HTTPConnection(host, port)
        connection.sock = sock  # the connection checked above, never a new lookup
        target = parts.path or "/"
        if parts.query:
            target = f"{target}?{parts.query}"
        sock.settimeout(_remaining(deadline, url, options.timeout))
        connection.putrequest("GET", target, skip_accept_encoding=True)
        for name, value in {
            **headers,
            "Accept-Encoding": "gzip, deflate",
            "Connection": "close",
        }.items():
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        response_headers = {k.lower(): v for k, v in response.getheaders()}
        status, reason = response.status, response.reason
        if status != 200:
            return status, reason, response_headers, b""
        body = _read_body(response, sock, deadline, url, options)
        return status, reason, response_headers, _decoded(body, response_headers, url, options)
    except FetchError:
        raise
    except (TimeoutError, http.client.HTTPException, ValueError, OSError) as exc:
        if expired.is_set() or isinstance(exc, TimeoutError):
            raise FetchError(
                f"{shown(url)} took longer than {options.timeout:.0f} s; stopped waiting"
            ) from exc
        if isinstance(exc, OSError):
            failure = exc.strerror or str(exc)
            raise FetchError(f"{shown(url)}: the connection failed ({failure})") from exc
        raise FetchError(f"{shown(url)}: not a valid HTTP response ({exc!r:.120})") from exc
    finally:
        watchdog.cancel()
        sock.close()


def _resolve(
    host: str, port: int, deadline: float, url: str, options: FetchOptions
) -> list[IPAddress]:
    """The host's addresses; every one must be public unless private ones are allowed."""
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        found: list[IPAddress] = [literal]
    else:
        pending = _RESOLVER.submit(socket.getaddrinfo, host, port, 0, socket.SOCK_STREAM)
        try:
            infos = pending.result(timeout=_remaining(deadline, url, options.timeout))
        except FutureTimeout as exc:
            raise FetchError(
                f"{shown(url)}: resolving {host} took longer than {options.timeout:.0f} s"
            ) from exc
        except (socket.gaierror, UnicodeError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise FetchError(f"{shown(url)}: cannot resolve {host} ({reason})") from exc
        found = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
        if not found:
            raise FetchError(f"{shown(url)}: {host} has no address")
    if not options.allow_private:
        for address in found:
            why = refusal(address, options.allowed_networks)
            if why is not None:
                named = host if host == str(address) else f"{host} ({address})"
                raise FetchError(
                    f"refused: {named} is {why}; feeds and pages on the operator's own network "
                    "are fetched only with ASSISTANT_FEED_ALLOW_PRIVATE=true (or their network "
                    "in ASSISTANT_FEED_ALLOWED_NETWORKS)"
                )
    return found


def _connect(
    addresses: list[IPAddress], port: int, deadline: float, url: str, options: FetchOptions
) -> socket.socket:
    """A TCP connection to the first of ``addresses`` that answers."""
    problem: OSError | None = None
    for address in addresses:
        family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(_remaining(deadline, url, options.timeout))
            sock.connect((str(address), port))
            return sock
        except TimeoutError as exc:
            sock.close()
            raise FetchError(
                f"{shown(url)}: connecting took longer than {options.timeout:.0f} s"
            ) from exc
        except OSError as exc:
            sock.close()
            problem = exc
    why = problem.strerror if problem is not None and problem.strerror else problem
    raise FetchError(f"{shown(url)}: cannot connect ({why})")


def _too_large(url: str, options: FetchOptions, what: str) -> FetchError:
    return FetchError(f"{shown(url)} is {what} the {options.max_bytes:,}-byte limit; not read on")


def _read_body(
    response: http.client.HTTPResponse,
    sock: socket.socket,
    deadline: float,
    url: str,
    options: FetchOptions,
) -> bytes:
    declared = response.getheader("content-length")
    if declared and declared.strip().isdigit() and int(declared) > options.max_bytes:
        raise _too_large(url, options, f"{int(declared):,} bytes, over")
    chunks: list[bytes] = []
    size = 0
    while True:
        sock.settimeout(_remaining(deadline, url, options.timeout))
        chunk = response.read1(READ_CHUNK)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > options.max_bytes:
            raise _too_large(url, options, "over")
        chunks.append(chunk)


def _decoded(body: bytes, headers: dict[str, str], url: str, options: FetchOptions) -> bytes:
    """The body without its ``Content-Encoding``, within the size limit once inflated."""
    encoding = headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise FetchError(f"{shown(url)}: unsupported Content-Encoding {encoding!r}")
    inflater = zlib.decompressobj(32 + zlib.MAX_WBITS)  # a gzip or a zlib header
    try:
        data = inflater.decompress(body, options.max_bytes + 1)
    except zlib.error as exc:
        raise FetchError(f"{shown(url)}: the {encoding} body is damaged ({exc})") from exc
    if len(data) > options.max_bytes or inflater.unconsumed_tail:
        raise _too_large(url, options, "once decompressed over")
    return data
