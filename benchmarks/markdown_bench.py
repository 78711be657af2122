"""Benchmark of Markdown engines with Marginalia's policies applied (not a test).

Makes the shared benchmark corpus (N articles, analyses for about 80% of them) in a
temporary folder and renders every article body and every analysis with each engine,
REPEAT times, the engines taking turns; prints the median CPU time (time.process_time, so
that other processes on the machine count little) per article and per analysis.

- pyromark: marginalia.markdown itself, the renderer the build uses;
- markdown-it-py: the reference, with mdit-py-plugins' footnotes and anchors and a core
  rule for the analyses' links and images and for the base path;
- cmarkgfm: cmark-gfm's HTML, the policies as regex passes over it (no hook to apply
  them in); footnotes come out in cmark-gfm's own form.

The last two come with the `bench` extra; an engine that is not installed is skipped.

    python benchmarks/markdown_bench.py [--articles 1000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

# benchmarks/ is sys.path[0] when this file is run as a script
from build_bench import MAKE_CORPUS

from marginalia import markdown

BASE_PATH = "/repo/"
Renderers = tuple[Callable[[str], str], Callable[[str], str]]  # article, analysis


def pyromark_engine() -> Renderers:
    return (
        markdown.article_renderer(unsafe_html=False, base_path=BASE_PATH),
        markdown.analysis_renderer(base_path=BASE_PATH),
    )


def markdown_it_py_engine() -> Renderers:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token
    from mdit_py_plugins.anchors import anchors_plugin
    from mdit_py_plugins.footnote import footnote_plugin

    def police(state) -> None:  # a core rule: the analyses' links and images
        for block in state.tokens:
            children, kept = [], []
            for token in block.children or ():
                if token.type == "link_open":
                    kept.append(re.match(r"https?:|[^:]*$", token.attrs["href"]) is not None)
                    if kept[-1]:
                        token.attrSet("rel", "nofollow noopener")
                        children.append(token)
                elif token.type == "link_close":
                    children.extend([token] if kept.pop() else [])
                elif token.type == "image":
                    text = Token("text", "", 0)
                    text.content = token.content
                    children.append(text)
                else:
                    children.append(token)
            block.children = children if block.children else block.children

    def base_path(state) -> None:
        for token in (t for block in state.tokens for t in block.children or ()):
            for name in ("href", "src"):
                value = token.attrs.get(name)
                if isinstance(value, str) and value.startswith("/") and value[1:2] != "/":
                    token.attrSet(name, BASE_PATH.rstrip("/") + value)

    options = {"html": False, "xhtmlOut": False}
    article = MarkdownIt("commonmark", options).enable(["table", "strikethrough"])
    article.use(footnote_plugin, inline=False)
    article.use(anchors_plugin, min_level=2, max_level=4, slug_func=markdown.heading_id)
    article.core.ruler.push("base_path", base_path)
    analysis = MarkdownIt("commonmark", options).enable(["table", "strikethrough"])
    analysis.core.ruler.push("police", police)
    analysis.core.ruler.push("base_path", base_path)
    return article.render, analysis.render


def cmarkgfm_engine() -> Renderers:
    import cmarkgfm
    from cmarkgfm.cmark import Options

    heading = re.compile(r"<h([2-4])>(.*?)</h\1>", re.DOTALL)
    link = re.compile(r'<a href="([^"]*)"([^>]*)>|</a>')
    site_root = re.compile(r'(\s(?:href|src)=")(/(?!/))')
    prefix = BASE_PATH.rstrip("/")

    def render(text: str) -> str:
        html = cmarkgfm.github_flavored_markdown_to_html(text, options=Options.CMARK_OPT_FOOTNOTES)
        return site_root.sub(lambda m: m[1] + prefix + m[2], html) if '="/' in html else html

    def article(text: str) -> str:
        taken: set[str] = set()

        def with_id(match: re.Match[str]) -> str:
            slug = base = markdown.heading_id(re.sub(r"<[^>]*>", "", match[2]))
            number = 1
            while slug in taken:
                slug, number = f"{base}-{number}", number + 1
            taken.add(slug)
            return f'<h{match[1]} id="{slug}">{match[2]}</h{match[1]}>'

        return heading.sub(with_id, render(text))

    def analysis(text: str) -> str:
        kept: list[bool] = []

        def tag(match: re.Match[str]) -> str:
            if match[1] is None:
                return "</a>" if kept.pop() else ""
            kept.append(re.match(r"https?:|[^:]*$", match[1]) is not None)
            return f'<a href="{match[1]}"{match[2]} rel="nofollow noopener">' if kept[-1] else ""

        html = re.sub(r'<img src="[^"]*" alt="([^"]*)"[^>]*>', r"\1", render(text))
        return link.sub(tag, html)

    return article, analysis


ENGINES = {
    "pyromark": pyromark_engine,
    "markdown-it-py": markdown_it_py_engine,
    "cmarkgfm": cmarkgfm_engine,
}


def bodies(folder: Path) -> list[str]:
    """The Markdown of each file below folder, its front matter left out."""
    return [
        p.read_text(encoding="utf-8").split("\n---\n", 1)[1] for p in sorted(folder.rglob("*.md"))
    ]


def cpu_seconds(render: Callable[[str], str], texts: list[str]) -> float:
    start = time.process_time()
    for text in texts:
        render(text)
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, str(MAKE_CORPUS), tmp, str(args.articles)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        articles, analyses = bodies(Path(tmp, "content")), bodies(Path(tmp, "analyses"))
    print(f"{len(articles)} articles, {len(analyses)} analyses, median of {args.repeat}")
    engines = {}
    for name, engine in ENGINES.items():
        try:
            engines[name] = engine()
        except ImportError:
            print(f"{name}: not installed")
    # the engines take turns, so that a busy moment of the machine falls on all of them
    times: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in engines}
    for _ in range(args.repeat):
        for name, (article, analysis) in engines.items():
            times[name][0].append(cpu_seconds(article, articles))
            times[name][1].append(cpu_seconds(analysis, analyses))
    print(f"{'engine':<16}{'ms/article':>12}{'ms/analysis':>13}")
    for name, (article_times, analysis_times) in times.items():
        per_article = statistics.median(article_times) / len(articles) * 1000
        per_analysis = statistics.median(analysis_times) / len(analyses) * 1000
        print(f"{name:<16}{per_article:>12.4f}{per_analysis:>13.4f}")


if __name__ == "__main__":
    main()
