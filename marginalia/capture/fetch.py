"""Polite HTTP: a User-Agent naming Marginalia, a timeout, a few requests in flight,
gzip, redirects followed. A failure is a typed result with a reason, never None: a 404
must not look like a timeout."""

from __future__ import annotations

import gzip
import http.client
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.error import HTTPError, URLError
from urllib.request import Request, urlopen

from .. import __version__
from .charset import decode_html

# what a site owner reading their logs sees: the tool, its version and what it does (the
# project has no public home page yet to point to; no placeholder URL stands in for one)
USER_AGENT = f"Marginalia/{__version__} (news archive article import)"
ACCEPT = (
    "text/html,application/xhtml+xml,application/rss+xml,application/atom+xml,"
    "application/xml;q=0.9,*/*;q=0.8"
)
MAX_IN_FLIGHT = 4
MAX_BYTES = 20_000_000


@dataclass(frozen=True)
class Response:
    """A page as fetched: the URL asked for, the URL it ended at, its body and type."""

    url: str
    final_url: str
    body: bytes
    media_type: str  # e.g. text/html, application/rss+xml
    charset: str | None  # from the Content-Type header

    @property
    def text(self) -> str:
        return decode_html(self.body, self.charset)


@dataclass(frozen=True)
class Failure:
    """A URL that gave no usable response, and why."""

    url: str
    reason: str


def fetch(url: str, timeout: float) -> Response | Failure:
    """GET url following redirects; the body un-gzipped."""
    request = Request(
        url, headers={"User-Agent": USER_AGENT, "Accept": ACCEPT, "Accept-Encoding": "gzip"}
    )
    try:
        with urlopen(request, timeout=timeout) as response:
            body = response.read(MAX_BYTES + 1)
            headers = response.headers
            final_url = response.geturl()
    except HTTPError as exc:
        return Failure(url, f"HTTP {exc.code} {exc.reason}".strip())
    except TimeoutError:
        return Failure(url, f"timed out after {timeout:g} s")
    except URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            return Failure(url, f"timed out after {timeout:g} s")
        return Failure(url, f"cannot connect: {exc.reason}")
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return Failure(url, f"cannot fetch: {exc}")
    if len(body) > MAX_BYTES:
        return Failure(url, f"larger than {MAX_BYTES // 1_000_000} MB")
    if headers.get("Content-Encoding", "").strip().lower() == "gzip":
        try:
            body = gzip.decompress(body)
        except (OSError, EOFError, zlib.error):
            return Failure(url, "the server sent broken gzip data")
    return Response(url, final_url, body, headers.get_content_type(), headers.get_content_charset())


def fetch_all(
    urls: Sequence[str],
    timeout: float,
    progress: Callable[[int, int, str], None] | None = None,
) -> list[Response | Failure]:
    """fetch() each URL, a few at a time; results in the order of urls."""
    if not urls:
        return []
    with ThreadPoolExecutor(max_workers=min(MAX_IN_FLIGHT, len(urls))) as pool:
        futures = [pool.submit(fetch, url, timeout) for url in urls]
        results = []
        for done, (url, future) in enumerate(zip(urls, futures, strict=True), start=1):
            results.append(future.result())
            if progress is not None:
                progress(done, len(urls), url)
    return results
