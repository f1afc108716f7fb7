"""Forwarding to the upstream: one pooled httpx transport, headers kept as sent, bodies streamed.

Faithful by default: every method and path (percent-encoding as the client sent it), every
header but the hop-by-hop ones (RFC 9110 7.6.1) and `Host` (the upstream's own), the body as
it came; the answer's status, headers and body bytes as the upstream sent them, compressed or
not. TLS certificates are verified unless the caller turns that off.

Requests go to httpx's transport (`httpx.HTTPTransport`: its connection pool, TLS and
HTTP/1.1) without the `httpx.Client` around it: a proxy wants none of what the client adds
(a cookie jar, default headers, redirects, auth), and skipping it saves about a quarter of
the client's cost per call.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final
from urllib.parse import quote, urlsplit

import httpx
from werkzeug.datastructures import EnvironHeaders

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

# Headers that belong to one connection, not to the message (RFC 9110 7.6.1), and `Expect`,
# which the proxy's own server answers (100 Continue) before the body is read.
HOP_BY_HOP: Final = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "expect",
    }
)
CHUNK_BYTES: Final = 64 * 1024


class UpstreamError(Exception):
    """No answer from the upstream: `kind` is "unreachable" or "timeout"."""

    def __init__(self, kind: str, details: str) -> None:
        super().__init__(details)
        self.kind = kind
        self.details = details


def _connection_tokens(headers: Iterable[tuple[str, str]]) -> set[str]:
    """Header names a `Connection` header lists: hop-by-hop too."""
    return {
        token.strip().lower()
        for name, value in headers
        if name.lower() == "connection"
        for token in value.split(",")
        if token.strip()
    }


def end_to_end(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The headers without the hop-by-hop ones (and those `Connection` names)."""
    listed = list(headers)
    dropped = HOP_BY_HOP | _connection_tokens(listed)
    return [(name, value) for name, value in listed if name.lower() not in dropped]


def request_headers(environ: WSGIEnvironment) -> list[tuple[str, str]]:
    """The client's request headers as they go upstream: no hop-by-hop, no Host, no length.

    httpx writes `Host` (the upstream's) and the framing (`Content-Length` of the body it sends).
    """
    kept = end_to_end(EnvironHeaders(environ).items())
    return [(name, value) for name, value in kept if name.lower() not in ("host", "content-length")]


def request_target(environ: WSGIEnvironment) -> str:
    """The path and query as the client sent them, percent-encoding untouched."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if isinstance(raw, str) and raw:
        if not raw.startswith("/"):  # absolute-form: keep only the path and query
            parts = urlsplit(raw)
            return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return raw
    path = quote(environ.get("PATH_INFO", "") or "/", safe="/;:@&=+$,!~*'()%")
    query = environ.get("QUERY_STRING", "")
    return path + (f"?{query}" if query else "")


@dataclass
class UpstreamAnswer:
    """An answer whose status and headers have come; its body is read on demand."""

    status: int
    reason: str
    headers: list[tuple[str, str]]  # end to end, as sent (latin-1 text of the raw bytes)
    _response: httpx.Response
    _chunks: Iterator[bytes]

    def header(self, name: str) -> str | None:
        """The first value of a header, if the answer has it."""
        lowered = name.lower()
        return next((value for key, value in self.headers if key.lower() == lowered), None)

    def read_head(self, limit: int) -> tuple[bytes, bool]:
        """The body up to a little more than `limit` bytes, and whether that is all of it."""
        length = self.header("Content-Length")
        if length is not None and length.strip().isdigit() and int(length) > limit:
            return b"", False  # too large to check: do not hold any of it back
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in self._chunks:
                chunks.append(chunk)
                size += len(chunk)
                if size > limit:
                    return b"".join(chunks), False
        except httpx.TimeoutException as exc:
            self.close()
            raise UpstreamError("timeout", f"{type(exc).__name__} reading the answer") from exc
        except httpx.HTTPError as exc:
            self.close()
            raise UpstreamError("unreachable", f"{type(exc).__name__}: {exc}") from exc
        return b"".join(chunks), True

    def rest(self) -> Iterator[bytes]:
        """The rest of the body, as it comes; the answer is closed at its end."""
        try:
            yield from self._chunks
        finally:
            self.close()

    def close(self) -> None:
        """Give the connection back to the pool (or drop it, mid-body)."""
        self._response.close()


class Upstream:
    """The server behind the proxy, reached through one pooled, thread-safe httpx transport."""

    def __init__(self, base_url: str, *, timeout: float = 30.0, verify: bool = True) -> None:
        base = httpx.URL(base_url)
        if base.scheme not in ("http", "https") or not base.host:
            raise ValueError(f"the upstream {base_url!r} is not an http:// or https:// URL")
        self.base_url = str(base).rstrip("/")
        self._transport = httpx.HTTPTransport(
            verify=verify,
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=32),
            # SSL_CERT_FILE and SSL_CERT_DIR are honoured; no HTTPS_PROXY: the upstream is
            # reached directly.
            trust_env=True,
        )
        self._timeout = httpx.Timeout(timeout).as_dict()

    def url(self, target: str) -> str:
        """The upstream URL of a request target (path and query)."""
        return self.base_url + target

    def send(
        self,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes | Iterator[bytes],
        content_length: str | None = None,
    ) -> UpstreamAnswer:
        """Send a request; the answer's body is left unread. UpstreamError when none came."""
        sent = list(headers)
        if not isinstance(body, bytes) and content_length is not None:
            sent.append(("Content-Length", content_length))  # else httpx sends it chunked
        request = httpx.Request(
            method,
            self.url(target),
            headers=sent,
            content=body,
            extensions={"timeout": self._timeout},
        )
        try:
            response = self._transport.handle_request(request)
        except httpx.TimeoutException as exc:
            kind = "unreachable" if isinstance(exc, httpx.ConnectTimeout) else "timeout"
            raise UpstreamError(kind, f"{type(exc).__name__}: no answer in time") from exc
        except (httpx.ConnectError, httpx.UnsupportedProtocol) as exc:
            raise UpstreamError("unreachable", f"{type(exc).__name__}: {exc}") from exc
        except httpx.HTTPError as exc:
            raise UpstreamError("unreachable", f"{type(exc).__name__}: {exc}") from exc
        raw = [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in response.headers.raw
        ]
        return UpstreamAnswer(
            status=response.status_code,
            reason=response.reason_phrase,
            headers=end_to_end(raw),
            _response=response,
            _chunks=response.iter_raw(CHUNK_BYTES),
        )

    def close(self) -> None:
        """Close every pooled connection."""
        self._transport.close()


def decoded(body: bytes, encoding: str | None, limit: int) -> tuple[bytes | None, str | None]:
    """The body with its Content-Encoding undone, for the checks: (bytes, None) or (None, why)."""
    codings = [c.strip().lower() for c in (encoding or "").split(",") if c.strip()]
    for coding in reversed(codings):
        if coding == "identity":
            continue
        if coding not in ("gzip", "x-gzip", "deflate"):
            return None, f"answer encoded as {coding!r}, which the checks cannot read"
        wbits = 16 + zlib.MAX_WBITS if coding in ("gzip", "x-gzip") else zlib.MAX_WBITS
        inflater = zlib.decompressobj(wbits)
        try:
            body = inflater.decompress(body, limit + 1)
        except zlib.error:
            if coding != "deflate":
                return None, f"answer not readable as {coding}"
            inflater = zlib.decompressobj(-zlib.MAX_WBITS)  # "deflate" sent raw, unwrapped
            try:
                body = inflater.decompress(body, limit + 1)
            except zlib.error:
                return None, "answer not readable as deflate"
        if len(body) > limit or inflater.unconsumed_tail:
            return None, f"answer over {limit} bytes once decoded: not checked"
    return body, None
