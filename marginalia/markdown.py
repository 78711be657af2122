"""Markdown to HTML with markdown-it-py: articles (the editor's) and analyses (untrusted).

markdown-it-py's own default is html=True; both renderers here set it explicitly.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from markdown_it import MarkdownIt
from mdit_py_plugins.anchors import anchors_plugin
from mdit_py_plugins.footnote import footnote_plugin

from .slugs import slugify


def article_renderer(unsafe_html: bool) -> MarkdownIt:
    """CommonMark with tables, strikethrough, footnotes and heading anchors."""
    md = MarkdownIt("commonmark", {"html": unsafe_html, "xhtmlOut": False})
    md.enable(["table", "strikethrough"])
    md.use(footnote_plugin)
    md.use(anchors_plugin, min_level=2, max_level=4, slug_func=slugify)
    return md


def _safe_link(url: str) -> bool:
    """Only http(s) and relative links survive in model text."""
    return urlsplit(url.strip()).scheme.lower() in ("", "http", "https")


def analysis_renderer() -> MarkdownIt:
    """Model output is untrusted: no raw HTML, no images, only http(s) and relative links."""
    md = MarkdownIt("commonmark", {"html": False, "xhtmlOut": False})
    md.enable(["table", "strikethrough"])
    md.disable(["image"])
    md.validateLink = _safe_link  # type: ignore[method-assign]

    def link_open(self, tokens, idx, options, env):  # noqa: ANN001 - markdown-it's signature
        tokens[idx].attrSet("rel", "nofollow noopener")
        return self.renderToken(tokens, idx, options, env)

    md.add_render_rule("link_open", link_open)
    return md
