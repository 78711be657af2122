"""The Jinja2 environment: template lookup, URL helpers and filters shared by all pages."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

import jinja2
from markupsafe import Markup, escape

from . import dates
from .config import Settings
from .errors import InputError, Problem
from .paths import builtin_dir

LAYOUTS_DIR = "layouts"


class Urls:
    """Site paths ('/tags/korea/') to hrefs with the base path, or to absolute URLs."""

    def __init__(self, settings: Settings) -> None:
        self.prefix = settings.base_path.rstrip("/")
        self.origin = settings.base_url[: len(settings.base_url) - len(settings.base_path)]
        self.hrefs: dict[str, str] = {}  # a page links the same paths many pages link

    def url(self, path: str) -> str:
        href = self.hrefs.get(path)
        if href is None:
            if not path.startswith("/"):
                raise ValueError(f"url() takes a site path starting with '/', not {path!r}")
            href = self.hrefs[path] = quote(self.prefix + path, safe="/#")
        return href

    def abs_url(self, path: str) -> str:
        return self.origin + self.url(path)


class StaticUrls:
    """static_url('/static/style.css') -> url() + '?v=<hash of the file's bytes>'.

    The query string changes whenever the file does, so browsers and CDNs may keep the
    file as long as they like. The file is looked up where the build copies it from: the
    site's static/ (copied to the site root), or for /static/...: the site's
    layouts/static/, then the built-in theme's.
    """

    def __init__(self, root: Path, urls: Urls) -> None:
        self.root = root
        self.urls = urls
        self.versions: dict[str, str] = {}

    def sources(self, path: str) -> list[Path]:
        rel = path.lstrip("/")
        found = [self.root / "static" / rel]
        if rel.startswith("static/"):
            rest = rel.removeprefix("static/")
            found += [self.root / LAYOUTS_DIR / "static" / rest]
            found += [builtin_dir(LAYOUTS_DIR) / "static" / rest]
        return found

    def static_url(self, path: str) -> str:
        href = self.urls.url(path)
        if path not in self.versions:
            source = next((p for p in self.sources(path) if p.is_file()), None)
            if source is None:
                raise jinja2.TemplateRuntimeError(
                    f"static_url({path!r}): no such file in static/ or layouts/static/"
                )
            self.versions[path] = hashlib.sha256(source.read_bytes()).hexdigest()[:12]
        return f"{href}?v={self.versions[path]}"


class ArticleItems:
    """article_item(article): an article's entry in a list, the same on every list page it
    appears on (the index, its tags, outlet, authors, year, month), so rendered once."""

    TEMPLATE = "partials/article-item.html"

    def __init__(self, env: jinja2.Environment) -> None:
        self.env = env
        # by the article's fingerprint: all the entry shows of it (serve keeps one
        # environment while an article's text changes)
        self.rendered: dict[str, Markup] = {}

    def render(self, article: Any) -> Markup:
        key = article.fingerprint
        if key not in self.rendered:
            html = self.env.get_template(self.TEMPLATE).render(article=article)
            self.rendered[key] = Markup(html)
        return self.rendered[key]


def isodate(moment: datetime) -> str:
    return moment.isoformat()


def jsonld(data: Any) -> Markup:
    """JSON safe inside <script>: '<', '>' and '&' escaped, so '</script>' cannot end it."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def make_environment(
    root: Path, settings: Settings, globals_: dict[str, Any]
) -> jinja2.Environment:
    """The site's layouts/ first, then the built-in theme (also reachable as 'default/...')."""
    builtin = jinja2.FileSystemLoader(builtin_dir(LAYOUTS_DIR))
    loaders: list[jinja2.BaseLoader] = []
    site_layouts = root / LAYOUTS_DIR
    if site_layouts.is_dir() and site_layouts.resolve() != builtin_dir(LAYOUTS_DIR).resolve():
        loaders.append(jinja2.FileSystemLoader(site_layouts))
    loaders += [builtin, jinja2.PrefixLoader({"default": builtin}, delimiter="/")]
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )
    urls = Urls(settings)
    static = StaticUrls(root, urls)
    env.globals.update(
        url=urls.url,
        abs_url=urls.abs_url,
        static_url=static.static_url,
        article_item=ArticleItems(env).render,
        **globals_,
    )
    language = settings.language

    def human_date(moment: datetime, in_language: str | None = None) -> str:
        """'20 June 2024', in the page's language unless another is given."""
        return dates.style(in_language, language).human_date(moment)

    def human_datetime(moment: datetime, in_language: str | None = None) -> str:
        """'20 June 2024, 16:00 UTC+02:00', in the page's language unless another is given."""
        return dates.style(in_language, language).human_datetime(moment)

    def short_date(moment: datetime, in_language: str | None = None) -> str:
        """'20 Jun', in the page's language unless another is given."""
        return dates.style(in_language, language).short_date(moment)

    def lang(item: Any) -> Markup:
        """' lang="xx"' where an article or page is not in the site's language."""
        shown = item.language
        return Markup(f' lang="{escape(shown)}"') if shown and shown != language else Markup()

    env.filters.update(
        # the helpers again as filters, `{{ tag.url|url }}`: a template calls a global
        # through Jinja's Context.call, a filter directly (a list page makes forty calls)
        url=urls.url,
        abs_url=urls.abs_url,
        static_url=static.static_url,
        article_item=env.globals["article_item"],
        isodate=isodate,
        human_date=human_date,
        human_datetime=human_datetime,
        short_date=short_date,
        jsonld=jsonld,
        lang=lang,
    )
    return env


def template_problem(root: Path, exc: Exception) -> InputError:
    """A template error located in its file and line (syntax or runtime)."""
    filename, line = getattr(exc, "filename", None), getattr(exc, "lineno", None)
    if filename is None:
        filename, line = _template_frame(exc.__traceback__)
    shown = _shown_path(root, filename) if filename else "layouts"
    kind = (
        "template syntax error" if isinstance(exc, jinja2.TemplateSyntaxError) else "template error"
    )
    return InputError([Problem(shown, line, f"{kind}: {exc}")])


def _template_frame(tb: TracebackType | None) -> tuple[str | None, int | None]:
    """The innermost traceback frame that is a template (Jinja maps it to template lines)."""
    found: tuple[str | None, int | None] = (None, None)
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith((".html", ".xml", ".txt")):
            found = (filename, tb.tb_lineno)
        tb = tb.tb_next
    return found


def _shown_path(root: Path, filename: str) -> str:
    path = Path(filename)
    for base, label in ((root, ""), (builtin_dir(LAYOUTS_DIR).parent, " (built-in theme)")):
        try:
            return path.resolve().relative_to(base.resolve()).as_posix() + label
        except ValueError:
            continue
    return filename
