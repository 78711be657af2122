"""The build: load -> assemble -> render -> publish, with every problem reported at once.

Nothing touches site/ until content, config, analyses and templates have all been read
and rendered without an error.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import jinja2
from markupsafe import Markup

from . import feeds
from .analysis.sidecar import ANALYSES_DIR, Sidecar, read_sidecar, sidecar_files
from .archive import Site, assemble
from .config import Settings, load_settings
from .content import CONTENT_DIR, PAGES_DIR, content_files, load_content
from .errors import InputError, Problems
from .markdown import analysis_renderer, article_renderer
from .output import SITE_DIR, Outputs, PublishReport, output_path, publish
from .pages import PageJob, article_pages, list_pages
from .paths import builtin_dir
from .theme import LAYOUTS_DIR, Urls, make_environment, template_problem

STATIC_DIR = "static"


@dataclass
class BuildReport:
    pages: int
    published: PublishReport
    seconds: float
    warnings: list


def load_site(root: Path, settings: Settings, problems: Problems, *, drafts: bool) -> Site:
    """Read content and sidecars and assemble the site model (no rendering, no writes)."""
    content = load_content(root, settings.zone, problems, drafts=drafts)
    sidecars: dict[str, Sidecar] = {}
    for article in content.articles:
        sidecar = read_sidecar(root, article.path, problems)
        if sidecar is not None:
            sidecars[article.path] = sidecar
    known = {rel for rel, _ in content_files(root) if not rel.startswith(PAGES_DIR + "/")}
    for rel in sidecar_files(root):
        if rel not in known:
            problems.warn(
                f"{ANALYSES_DIR}/{rel}",
                None,
                f"no article {CONTENT_DIR}/{rel}: this analysis is not shown",
            )
    return assemble(settings, content.articles, content.pages, sidecars, problems)


def render_markdown(site: Site) -> None:
    """Article, page and analysis bodies to HTML (analyses always with raw HTML off)."""
    base_path = site.settings.base_path
    article_md = article_renderer(site.settings.markdown.unsafe_html, base_path)
    analysis_md = analysis_renderer(base_path)
    for article in site.articles:
        article.html = Markup(article_md.render(article.body))
        if article.analysis is not None:
            article.analysis.html = Markup(analysis_md.render(article.analysis.sidecar.body))
    for page in site.pages:
        page.html = Markup(article_md.render(page.body))


def render_site(root: Path, site: Site, problems: Problems) -> Outputs:
    """Every output file of design §4, in memory."""
    settings = site.settings
    urls = Urls(settings)
    render_markdown(site)
    env = make_environment(
        root,
        settings,
        {"site": _site_globals(settings), "nav_pages": site.pages},
    )
    outputs = Outputs()
    jobs: list[PageJob] = [*article_pages(site, urls), *list_pages(site, urls)]
    templates: dict[str, jinja2.Template] = {}
    for job in jobs:
        try:
            template = templates.get(job.template) or env.get_template(job.template)
            templates[job.template] = template
            html = template.render(job.context)
        except jinja2.TemplateError as exc:
            raise template_problem(root, exc) from None
        outputs.add(
            output_path(job.url),
            html.encode("utf-8"),
            job.source or f"the page {job.url}",
            problems,
        )
    for path, data in feeds.site_feeds(site, urls):
        outputs.add(output_path(path), data, f"the feed {path}", problems)
    sitemap_entries = [(job.url, _lastmod(job)) for job in jobs if _in_sitemap(job)]
    for path, data in feeds.sitemaps(urls, sitemap_entries):
        outputs.add(output_path(path), data, "the sitemap", problems)
    outputs.add("robots.txt", feeds.robots_txt(urls), "robots.txt", problems)
    outputs.add(".nojekyll", b"", ".nojekyll", problems)
    if settings.cname:
        outputs.add("CNAME", f"{settings.cname}\n".encode(), "config.yaml (cname)", problems)
    for rel, (path, owner) in sorted(_theme_static(root).items()):
        outputs.add(rel, path, owner, problems)
    outputs.add_tree(root / STATIC_DIR, "", root, problems)
    return outputs


def _theme_static(root: Path) -> dict[str, tuple[Path, str]]:
    """layouts/static/ of the built-in theme, overridden file by file by the site's."""
    files: dict[str, tuple[Path, str]] = {}
    layers = ((builtin_dir(LAYOUTS_DIR), " (built-in theme)"), (root / LAYOUTS_DIR, ""))
    for layouts, label in layers:
        base = layouts / STATIC_DIR
        for path in sorted(base.rglob("*")) if base.is_dir() else []:
            if path.is_file():
                rel = path.relative_to(base).as_posix()
                files[f"static/{rel}"] = (path, f"{LAYOUTS_DIR}/{STATIC_DIR}/{rel}{label}")
    return files


def _site_globals(settings: Settings) -> dict:
    return {
        "title": settings.title,
        "description": settings.description,
        "language": settings.language,
        "base_url": settings.base_url,
        "feed_url": "/feed.xml",
    }


def _in_sitemap(job: PageJob) -> bool:
    """Every page but 404.html and the continuation pages (/page/2/...) of a list."""
    pagination = job.context.get("pagination")
    return job.url != "/404.html" and (pagination is None or pagination["number"] == 1)


def _lastmod(job: PageJob):
    article = job.context.get("article")
    return (article.updated or article.date) if article is not None else None


def load_and_render(
    root: Path, *, drafts: bool = False, base_url: str | None = None
) -> tuple[Site, Outputs, Problems]:
    """Everything but writing; raise InputError with every problem found.

    Rendering goes on after loading found problems (without the files that failed), so
    that URL clashes and template errors are reported in the same run.
    """
    problems = Problems()
    settings = load_settings(root, base_url)  # without settings nothing else can be read
    site = load_site(root, settings, problems, drafts=drafts)
    try:
        outputs = render_site(root, site, problems)
    except InputError as exc:  # a template error ends rendering
        problems.errors.extend(exc.errors)
    problems.raise_if_errors()
    return site, outputs, problems


def build(root: Path, *, drafts: bool = False, base_url: str | None = None) -> BuildReport:
    """Validate everything, render every page, then publish to root/site/."""
    started = time.perf_counter()
    _, outputs, problems = load_and_render(root, drafts=drafts, base_url=base_url)
    report = publish(root / SITE_DIR, outputs)
    return BuildReport(
        len(outputs.files), report, time.perf_counter() - started, sorted(set(problems.warnings))
    )
