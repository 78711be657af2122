"""The build: load -> assemble -> render -> publish, with every problem reported at once.

Nothing touches site/ until content, config, analyses and templates have all been read
and rendered without an error.
"""

from __future__ import annotations

import contextlib
import gc
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import jinja2

from . import atomic, dates, feeds, search, stamp
from .analysis.sidecar import ANALYSES_DIR, Sidecar, sidecar_files, sidecar_item
from .archive import Site, assemble
from .config import CONFIG_FILE, PLACEHOLDER_BASE_URL, Settings, load_settings
from .content import CONTENT_DIR, Content, load_content
from .depend import MANIFEST, Manifest, job_key, save_record, shared_key, template_keys
from .errors import InputError, Problems
from .markdown import HtmlStore
from .output import SITE_DIR, Outputs, PublishReport, SiteFiles, output_path, publish
from .pages import PageJob, article_pages, list_pages
from .paths import builtin_dir
from .records import RecordCache, no_cache
from .render import render_pages
from .theme import LAYOUTS_DIR, ArticleItems, Urls, make_environment

STATIC_DIR = "static"
CACHE_DIR = ".cache/marginalia"  # kept between builds (and in CI by actions/cache)
STAGING_PREFIX = "staging-"
# the theme's start of Pagefind's UI and its Pagefind module, only with search on
SEARCH_SCRIPTS = ("static/search.js", "static/search/pagefind.js")


@dataclass
class BuildReport:
    pages: int
    published: PublishReport
    seconds: float
    warnings: list
    up_to_date: bool = False  # nothing had changed: nothing was read or rendered
    rendering: Rendering | None = None  # what the pages were made from (none if up to date)


def read_sources(
    root: Path,
    settings: Settings,
    problems: Problems,
    *,
    drafts: bool,
    records: RecordCache | None = None,
) -> tuple[Content, dict[str, Sidecar]]:
    """Every article and page, and the sidecars of the articles that have one."""
    records = records or no_cache()
    content = load_content(root, settings.zone, problems, drafts=drafts, records=records)
    present = set(sidecar_files(root))
    analysed = [article.path for article in content.articles if article.path in present]
    found = records.get_many([sidecar_item(root, rel) for rel in analysed], problems)
    sidecars = {rel: sidecar for rel, sidecar in zip(analysed, found, strict=True) if sidecar}
    for rel in sorted(present - content.article_files):
        problems.warn(
            f"{ANALYSES_DIR}/{rel}",
            None,
            f"no article {CONTENT_DIR}/{rel}: this analysis is not shown",
        )
    return content, sidecars


def load_site(
    root: Path,
    settings: Settings,
    problems: Problems,
    *,
    drafts: bool,
    records: RecordCache | None = None,
) -> Site:
    """Read content and sidecars and assemble the site model (no rendering, no writes)."""
    content, sidecars = read_sources(root, settings, problems, drafts=drafts, records=records)
    return assemble(settings, content.articles, content.pages, sidecars, problems)


@dataclass
class Rendering:
    """What the pages of a build were made from: serve keeps it to apply the next small
    edit to the same site (serve/live.py)."""

    site: Site
    env: jinja2.Environment
    urls: Urls
    shared: str  # the key of what every page shares
    templates: dict[str, str]  # the key of each template the pages use (what it reaches)
    jobs: list[PageJob]  # the pages and the feeds
    record: dict[str, tuple[str, int]]  # path in site/ -> (key, size) of each job's output
    sizes: dict[str, int] = field(default_factory=dict)  # every output, once published
    search_key: str = ""  # the plan whose bundles site/pagefind/ holds (search.Plan.key), if all
    search_served: search.Served = field(default_factory=dict)  # the bundles it holds


def shared_key_of(root: Path, site: Site) -> str:
    # static files, the theme's too: templates link them with a hash of their bytes
    layouts = [root / LAYOUTS_DIR, builtin_dir(LAYOUTS_DIR)]
    return shared_key(site, [root / STATIC_DIR, *(folder / STATIC_DIR for folder in layouts)])


def templates_of(env: jinja2.Environment, jobs: list[PageJob]) -> dict[str, str]:
    """The key of each template the jobs render with (depend.template_keys); any page may
    call article_item, which renders its partial."""
    names = {job.template for job in jobs if job.make is None}
    return template_keys(env, names, [ArticleItems.TEMPLATE])


def attach_html(site: Site) -> None:
    """Give every article, analysis and page the store that renders its Markdown."""
    settings = site.settings
    store = HtmlStore(settings.markdown.unsafe_html, settings.base_path)
    for item in [*site.articles, *site.pages]:
        item.html_store = store
        if getattr(item, "analysis", None) is not None:
            item.analysis.html_store = store


def render_site(
    root: Path,
    site: Site,
    problems: Problems,
    *,
    site_dir: Path | None,
    cache_dir: Path | None,
    search_later: search.Later | None = None,
) -> tuple[Outputs, Rendering]:
    """Every output file of design §4, and what the pages were made from (with the
    dependency record of the keyed ones). With `search_later` (serve), the search index
    is not made here unless .cache/ has it (search.Later).

    With site_dir, pages whose inputs did not change since the last build (per cache_dir's
    record) are not rendered at all, and the rest are staged in a folder under cache_dir
    for publish to move into site/; without it (check), every page is rendered and nothing
    is written.
    """
    attach_html(site)
    plan: search.Plan | None = None
    indexing: search.Indexing | None = None
    if site.settings.search and site.articles and cache_dir is not None and site_dir is not None:
        plan = search.plan(site)
        # the shards whose articles changed index as the pages render (not for a failing build)
        if search_later is None and not problems.errors:
            indexing = search.start(cache_dir, plan)
    try:
        return _render_site(root, site, problems, site_dir, cache_dir, search_later, plan, indexing)
    except BaseException:
        if indexing is not None:
            indexing.cancel()
        raise


def _render_site(
    root: Path,
    site: Site,
    problems: Problems,
    site_dir: Path | None,
    cache_dir: Path | None,
    search_later: search.Later | None,
    plan: search.Plan | None,
    indexing: search.Indexing | None,
) -> tuple[Outputs, Rendering]:
    settings = site.settings
    urls = Urls(settings)
    env = make_environment(
        root, settings, {"site": _site_globals(settings), "nav_pages": site.pages}
    )
    shared = shared_key_of(root, site)
    manifest = Manifest.load(cache_dir) if cache_dir is not None else Manifest({})
    record: dict[str, tuple[str, int]] = {}
    outputs = Outputs(present=SiteFiles(site_dir) if site_dir is not None else None)
    pages: list[PageJob] = [*article_pages(site, urls), *list_pages(site, urls)]
    search_pages = [search.search_page(site, urls)] if settings.search else []
    jobs = [*pages, *search_pages, *feeds.feed_jobs(site, urls)]
    templates = templates_of(env, jobs)
    todo: list[PageJob] = []
    keys: dict[str, str] = {}

    def unchanged(rel: str, key: str) -> bool:
        """Keep the output of the last build if it was made from the same inputs."""
        keys[rel] = key
        if outputs.present is None or not manifest.unchanged(outputs.present, rel, key):
            return False
        record[rel] = manifest.entries[rel]
        outputs.kept[rel] = record[rel][1]
        return True

    for job in jobs:
        rel = output_path(job.url)
        owner = job.source or f"the {'feed' if job.make else 'page'} {job.url}"
        if not outputs.claim(rel, owner, problems):
            continue
        if not unchanged(rel, job_key(shared, templates, job)):
            todo.append(job)
    if site_dir is not None and cache_dir is not None and todo:
        outputs.staging = new_staging(cache_dir)
    for result in render_pages(root, env, todo, site_dir, outputs.staging):
        if result.problem is not None:
            outputs.discard()
            raise InputError([result.problem])
        record[result.rel] = (keys[result.rel], result.size)
        if result.staged is not None:
            outputs.staged[result.rel] = (result.staged, result.size)
        elif site_dir is not None:
            outputs.kept[result.rel] = result.size
    sitemap_entries = [(job.url, _lastmod(job)) for job in pages if _in_sitemap(job)]
    for path, data in feeds.sitemaps(urls, sitemap_entries):
        outputs.add(output_path(path), data, "the sitemap", problems)
    outputs.add("robots.txt", feeds.robots_txt(urls), "robots.txt", problems)
    outputs.add(".nojekyll", b"", ".nojekyll", problems)
    if settings.cname:
        outputs.add("CNAME", f"{settings.cname}\n".encode(), "config.yaml (cname)", problems)
    for rel, (path, owner) in sorted(_theme_static(root).items()):
        if settings.search or rel not in SEARCH_SCRIPTS:
            outputs.add(rel, path, owner, problems)
    outputs.add_tree(root / STATIC_DIR, "", root, problems)
    rendering = Rendering(site, env, urls, shared, templates, jobs, record)
    if settings.search:
        outputs.add(search.OPENSEARCH, search.opensearch_xml(site, urls), "the search", problems)
        # Pagefind refuses to index nothing: a site with no articles has no bundle yet
        if plan is not None and not problems.errors:
            assert cache_dir is not None
            if indexing is not None:
                try:
                    indexing.result()
                except InputError:
                    outputs.discard()
                    raise
            served, complete = search.add_bundle(
                outputs, problems, cache_dir, plan, search_later, manifest, record
            )
            rendering.search_served = served
            if complete:
                rendering.search_key = plan.key
                search.prune_cache(cache_dir, plan)
        elif indexing is not None:
            indexing.cancel()
    return outputs, rendering


def new_staging(cache_dir: Path) -> Path:
    """A fresh folder for this build's rendered pages; a killed build's are removed. Its
    mode is an ordinary folder's (not mkdtemp's 0700): it may become site/ itself."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    for old in cache_dir.glob(STAGING_PREFIX + "*"):
        shutil.rmtree(old, ignore_errors=True)
    staging = cache_dir / f"{STAGING_PREFIX}{secrets.token_hex(8)}"
    staging.mkdir()
    return staging


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
        "search": settings.search,
    }


def _in_sitemap(job: PageJob) -> bool:
    """Every page but 404.html and the continuation pages (/page/2/...) of a list."""
    pagination = job.inputs.get("pagination")
    return job.url != "/404.html" and (pagination is None or pagination.number == 1)


def _lastmod(job: PageJob) -> datetime | None:
    article = job.inputs.get("article")
    return (article.updated or article.date) if article is not None else None


def load_and_render(
    root: Path,
    *,
    drafts: bool = False,
    base_url: str | None = None,
    repository: str | None = None,
    site_dir: Path | None = None,
    cache_dir: Path | None = None,
    record_cache: Callable[[Path | None, str], RecordCache] = RecordCache,
    search_later: search.Later | None = None,
) -> tuple[Site, Outputs, Rendering | None, Problems]:
    """Everything but publishing; raise InputError with every problem found.

    Rendering goes on after loading found problems (without the files that failed), so
    that URL clashes and template errors are reported in the same run. `record_cache`
    makes the RecordCache from (cache_dir, salt): serve passes one it keeps in memory.
    """
    problems = Problems()
    # without settings nothing else can be read
    settings = load_settings(root, base_url, repository)
    _warn_of_settings(settings, problems)
    records = record_cache(cache_dir, settings.timezone)
    site = load_site(root, settings, problems, drafts=drafts, records=records)
    outputs, rendering = Outputs(), None
    try:
        outputs, rendering = render_site(
            root, site, problems, site_dir=site_dir, cache_dir=cache_dir, search_later=search_later
        )
    except InputError as exc:  # a template error ends rendering
        problems.errors.extend(exc.errors)
    if problems.errors:
        outputs.discard()
    problems.raise_if_errors()
    records.save()
    return site, outputs, rendering, problems


def _warn_of_settings(settings: Settings, problems: Problems) -> None:
    """Settings that are valid but surely not what the editor wants."""
    if settings.base_url == PLACEHOLDER_BASE_URL:
        problems.warn(
            CONFIG_FILE,
            None,
            "base_url is still the placeholder 'init' wrote: set it to the address the site "
            "is served at (the GitHub Pages workflow passes its own with --base-url)",
        )
    unknown = dates.unknown_language(settings.language, "English")
    if unknown:
        problems.warn(CONFIG_FILE, None, unknown)


def build(
    root: Path,
    *,
    drafts: bool = False,
    base_url: str | None = None,
    repository: str | None = None,
    full: bool = False,
    record_cache: Callable[[Path | None, str], RecordCache] = RecordCache,
    trust_stamp: bool = True,
    search_later: search.Later | None = None,
) -> BuildReport:
    """Validate everything, render what changed, then publish to root/site/.

    `full` ignores the record of the last build and renders every page; `record_cache`
    as in load_and_render; without `trust_stamp` the build goes on when nothing changed
    (serve wants the Rendering of every build); `search_later` as in render_site.
    """
    started = time.perf_counter()
    atomic.forget_folders()
    site_dir = root / SITE_DIR
    cache_dir = root / CACHE_DIR
    inputs = stamp.read_inputs(root, builtin_dir(LAYOUTS_DIR), repr((drafts, base_url, repository)))
    if full:
        stamp.forget(cache_dir)
        (cache_dir / MANIFEST).unlink(missing_ok=True)
    last = stamp.current(cache_dir, site_dir, inputs) if trust_stamp else None
    if last is not None:
        unchanged = PublishReport(0, len(last.outputs), 0, sum(last.outputs.values()))
        seconds = time.perf_counter() - started
        return BuildReport(last.pages, unchanged, seconds, last.warnings, up_to_date=True)
    # rendered Markdown was cached here until markdown-it-pyrs made the cache cost more
    # than it saved; actions/cache would otherwise carry its files from cache to cache
    shutil.rmtree(cache_dir / "html", ignore_errors=True)
    with _collector_paused():
        _, outputs, rendering, problems = load_and_render(
            root,
            drafts=drafts,
            base_url=base_url,
            repository=repository,
            site_dir=site_dir,
            cache_dir=cache_dir,
            record_cache=record_cache,
            search_later=search_later,
        )
        try:
            report = publish(site_dir, outputs)
        finally:
            outputs.discard()  # after an interrupted publish, no temporary file stays behind
        assert rendering is not None  # load_and_render raised otherwise
        rendering.sizes = report.sizes
        save_record(cache_dir, rendering.record)
    warnings = sorted(set(problems.warnings))
    stamp.save(cache_dir, stamp.Stamp(inputs, report.sizes, len(outputs.owners), warnings))
    seconds = time.perf_counter() - started
    return BuildReport(len(outputs.owners), report, seconds, warnings, rendering=rendering)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """No automatic garbage collection during a build: it makes a million small objects
    that live until it ends, and each collection would walk them all again (a fifth of
    a rebuild of 10,000 articles). What they leave is collected once at the end."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
