"""Markdown to HTML with markdown-it-py: articles (the editor's) and analyses (untrusted).

markdown-it-py's own default is html=True; both renderers here set it explicitly.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import urlsplit

import markdown_it
import mdit_py_plugins
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markupsafe import Markup
from mdit_py_plugins.anchors import anchors_plugin
from mdit_py_plugins.footnote import footnote_plugin

from . import __version__, atomic
from .slugs import slugify

# Ids the default theme gives its own elements (skip link, "Scroll down" link target).
PAGE_IDS = frozenset({"main", "original"})


def heading_id(text: str) -> str:
    """A heading's anchor: never empty, never one of the page's own ids."""
    slug = slugify(text) or "section"
    return f"{slug}-heading" if slug in PAGE_IDS else slug


def _prefix_site_paths(md: MarkdownIt, base_path: str) -> None:
    """Site-root links ('/about/') get the base path, so they work under /repo/ too."""
    prefix = base_path.rstrip("/")
    if not prefix:
        return

    def rule(state) -> None:
        for block in state.tokens:
            for token in block.children or ():
                attr = {"link_open": "href", "image": "src"}.get(token.type)
                value = token.attrGet(attr) if attr else None
                if isinstance(value, str) and value.startswith("/") and not value.startswith("//"):
                    token.attrSet(attr, prefix + value)

    md.core.ruler.push("prefix_site_paths", rule)


def article_renderer(unsafe_html: bool, base_path: str = "/") -> MarkdownIt:
    """CommonMark with tables, strikethrough, footnotes and heading anchors."""
    md = MarkdownIt("commonmark", {"html": unsafe_html, "xhtmlOut": False})
    md.enable(["table", "strikethrough"])
    md.use(footnote_plugin)
    md.use(anchors_plugin, min_level=2, max_level=4, slug_func=heading_id)
    _prefix_site_paths(md, base_path)
    return md


def _safe_link(url: str) -> bool:
    """Only http(s) and relative links survive in model text."""
    return urlsplit(url.strip()).scheme.lower() in ("", "http", "https")


def analysis_renderer(base_path: str = "/") -> MarkdownIt:
    """Model output is untrusted: no raw HTML, only http(s) and relative links, and images
    shown as their alt text (an image would be a request leaving the site)."""
    md = MarkdownIt("commonmark", {"html": False, "xhtmlOut": False})
    md.enable(["table", "strikethrough"])
    md.validateLink = _safe_link  # type: ignore[method-assign]

    def link_open(self, tokens, idx, options, env):
        tokens[idx].attrSet("rel", "nofollow noopener")
        return self.renderToken(tokens, idx, options, env)

    def image_as_text(self, tokens, idx, options, env):
        return escapeHtml(tokens[idx].content)

    md.add_render_rule("link_open", link_open)
    md.add_render_rule("image", image_as_text)
    _prefix_site_paths(md, base_path)
    return md


class HtmlStore:
    """Markdown rendered once per text, kept in .cache/html/ across builds and processes.

    The key covers the text, the renderer's options and the library versions, so a
    cached page body is reused only where rendering it again would give the same bytes.
    """

    def __init__(self, cache_dir: Path | None, unsafe_html: bool, base_path: str) -> None:
        self.dir = cache_dir / "html" if cache_dir is not None else None
        self.unsafe_html = unsafe_html
        self.base_path = base_path
        self.salt = "|".join(
            (
                __version__,
                markdown_it.__version__,
                mdit_py_plugins.__version__,
                str(unsafe_html),
                base_path,
            )
        )
        self._renderers: dict[str, MarkdownIt] = {}

    def _renderer(self, kind: str) -> MarkdownIt:
        if kind not in self._renderers:
            self._renderers[kind] = (
                article_renderer(self.unsafe_html, self.base_path)
                if kind == "article"
                else analysis_renderer(self.base_path)
            )
        return self._renderers[kind]

    def render(self, kind: str, text: str) -> Markup:
        """kind is 'article' (the editor's Markdown) or 'analysis' (untrusted model text)."""
        if self.dir is None:
            return Markup(self._renderer(kind).render(text))
        key = hashlib.blake2b(f"{self.salt}|{kind}|{text}".encode(), digest_size=20).hexdigest()
        path = self.dir / key[:2] / key
        try:
            return Markup(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            html = self._renderer(kind).render(text)
            atomic.write_bytes(path, html.encode("utf-8"), mode=None)  # private cache
            return Markup(html)
