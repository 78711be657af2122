"""Benchmark of `import` on real saved news pages (issue 22).

The pages are benchmarks/import_pages/ (its README.md says where they come from and under
which licence). Each is unpacked into a temporary folder and imported as a saved page,
the way a user runs `import saved/page.html`, with the real import into a fresh site
of its own. The script prints, page by page and in total:

- how many were written and how many refused, with the reasons;
- of the pages that say they are no article (pages.json `not_an_article`), how many were
  refused;
- of those written, how many got the same day as htmldate alone
  (`htmldate.find_date(html, original_date=True)` on the same file), and how many the day
  newspaper4k's tests expect (`expected_date`), where they expect one;
- the lines `import` printed about how it chose a date.

    python benchmarks/import_bench.py [--pages DIR]

Figures go to stdout; the time taken and the load average are printed beside them, as
the machine may be shared.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

from htmldate import find_date

from marginalia import frontmatter
from marginalia.capture.charset import decode_html
from marginalia.capture.run import ImportOptions, import_articles

PAGES = Path(__file__).resolve().parent / "import_pages"


def day_written(path: Path) -> str:
    """The day of an article file's `date`, as written (in the page's own zone)."""
    moment = frontmatter.parse(path.read_text(encoding="utf-8")).meta["date"]
    return (moment.date() if isinstance(moment, datetime) else moment).isoformat()


def import_one(saved: Path, workdir: Path) -> tuple[str | None, str | None, list[str]]:
    """(day written or None, reason refused or None, notes) for one saved page."""
    root = Path(tempfile.mkdtemp(dir=workdir))
    (root / "config.yaml").write_text("title: Bench\nbase_url: https://example.org/\n", "utf-8")
    report = import_articles(root, ImportOptions(targets=[str(saved)]), lambda line: None)
    notes = [note for _, note in report.notes]
    if report.failed:
        return None, report.failed[0][1], notes
    (path, _title), *_ = report.written
    return day_written(path), None, notes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=Path, default=PAGES, help="folder of pages.json")
    args = parser.parse_args()
    manifest = json.loads((args.pages / "pages.json").read_text(encoding="utf-8"))
    started = time.perf_counter()
    written = same_as_htmldate = expected = same_as_expected = 0
    refused: Counter[str] = Counter()
    lists_refused = lists = 0
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for name, entry in manifest.items():
            data = gzip.decompress((args.pages / name).read_bytes())
            saved = workdir / name.removesuffix(".gz")
            saved.write_bytes(data)
            day, reason, notes = import_one(saved, workdir)
            alone = find_date(decode_html(data), original_date=True)
            lists += "not_an_article" in entry
            if reason is not None:
                refused[reason] += 1
                lists_refused += "not_an_article" in entry
                print(f"{saved.name}: refused: {reason}")
                continue
            written += 1
            same_as_htmldate += day == alone
            if entry["expected_date"]:
                expected += 1
                same_as_expected += day == entry["expected_date"]
            print(
                f"{saved.name}: {day}"
                + ("" if day == alone else f" (htmldate alone: {alone})")
                + (f" (expected: {entry['expected_date']})" if entry["expected_date"] else "")
            )
            for note in notes:
                print(f"    {note}")
    seconds = time.perf_counter() - started
    print()
    print(f"pages: {len(manifest)} from {args.pages}")
    print(f"written: {written}; refused: {sum(refused.values())}")
    for reason, count in refused.most_common():
        print(f"  {count} x {reason}")
    print(f"pages that are no article, refused: {lists_refused} of {lists}")
    print(f"written, same day as htmldate alone: {same_as_htmldate} of {written}")
    print(f"written, the day newspaper4k's tests expect: {same_as_expected} of {expected}")
    load = os.getloadavg()
    print(f"{seconds:.1f} s, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
