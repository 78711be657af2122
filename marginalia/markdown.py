"""Markdown to HTML with markdown-it-py: articles (the editor's) and analyses (untrusted).

markdown-it-py's own default is html=True; both renderers here set it explicitly.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from mdit_py_plugins.anchors import anchors_plugin
from mdit_py_plugins.footnote import footnote_plugin

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
