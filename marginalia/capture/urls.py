"""The URL an article is filed under, without tracking parameters, and its comparison key."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from ..content import is_web_url

# Query parameters that say how a reader arrived, not which article it is.
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_ga",
        "_gl",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "oly_anr_id",
        "oly_enc_id",
        "vero_id",
        "ref_src",
        "ref_url",
        "cmpid",
        "ocid",
        "smid",
        "sr_share",
    }
)
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "at_")
DEFAULT_PORTS = {"http": 80, "https": 443}


def web_url(href: str, base: str = "") -> str | None:
    """href resolved against base, if that is a URL we can fetch and file (an http(s) URL
    with a host, and a port that is a number: content.is_web_url); None otherwise. Links
    in pages and feeds are the outside's text: a malformed one must not end a run."""
    try:
        url = urljoin(base, href.strip())
    except ValueError:  # 'http://[::1': an IPv6 address never closed
        return None
    return url if is_web_url(url) else None


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def clean_url(url: str) -> str:
    """The URL to write as `source`: no fragment, no tracking parameters, lowercase
    scheme and host, no default port; the path and the other parameters as given."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if parts.port is not None and parts.port != DEFAULT_PORTS.get(scheme):
        host = f"{host}:{parts.port}"
    query = [
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if not _is_tracking(name)
    ]
    return urlunsplit((scheme, host, parts.path or "/", urlencode(query), ""))


def url_key(url: str) -> str:
    """What two URLs of one article have in common: the clean URL with http and https,
    `www.`, a trailing slash and the order of parameters made alike."""
    parts = urlsplit(clean_url(url))
    host = parts.netloc.removeprefix("www.")
    path = parts.path.rstrip("/") or "/"
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return urlunsplit(("https", host, path, query, ""))
