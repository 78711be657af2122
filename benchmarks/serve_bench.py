"""Benchmark of `serve`: the time from saving an article to the browser's reload.

It makes (or reuses) a corpus of --size articles with /work/shared/bench/make_corpus.py,
as build_bench.py does (corpus-N/ in --workdir, with its config.yaml), starts
`python -m marginalia serve --root DIR --port 0` from the repository root, waits for the
first build (polling /__marginalia/status) and listens on /__marginalia/events, the
Server-Sent Events stream a served page's script listens on. Then, --edits times, it
waits QUIET seconds with nothing changing, appends a sentence to an article (a different
one each time, spread over the archive) with one ordinary write, and measures with
time.perf_counter() from the moment the write returns:

- save to reload: until the next "reload" event has arrived on the stream;
- save to page: until the article's page, fetched over HTTP right after that event, has
  been received; it must contain the sentence.

Both include serve's debounce (it rebuilds only after SETTLE, 0.1 s, without a file
event) and watchdog's delivery of the event: they are what a user sees after saving, not
the rebuild alone. serve's own account of each rebuild ("Rebuilt in X s") is shown
beside them. The first build is timed from starting the process to the status reporting
it (interpreter start included), beside serve's own "Built in X s"; it is warm when
site/ and .cache/ are left from earlier builds, as the table says.

    python benchmarks/serve_bench.py [--size 10000] [--edits 7] [--workdir DIR]

Corpora are cached in --workdir and reused; without --workdir a temporary directory is
used and deleted at the end. The edited articles are put back at the end (and serve's
rebuild of them awaited) before serve is stopped with SIGINT, as Ctrl-C would. Their
originals are also saved in restore-N/, the folder build_bench.py uses, so
an interrupted run is undone by the next run of either benchmark on the same workdir.

The table goes to stdout; progress, serve's warnings and failures to stderr. If serve
exits, reports a failed build, sends no reload within EDIT_TIMEOUT seconds of an edit or
serves a page without the edit, the benchmark stops with exit status 1 and shows
serve's output.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

# benchmarks/ is sys.path[0] when this file is run as a script
from build_bench import (
    MAKE_CORPUS,
    REPO,
    BenchError,
    edit_article,
    ensure_corpus,
    machine_line,
    open_workdir,
    positive,
    progress,
    restore_pending,
)

SERVE = [sys.executable, "-m", "marginalia", "serve", "--port", "0", "--root"]
STATUS = "/__marginalia/status"
EVENTS = "/__marginalia/events"
QUIET = 1.0  # seconds without changes before each edit (serve's tidy-up after a build)
EDIT_TIMEOUT = 60.0  # seconds an edit may take to reach a reload
START_TIMEOUT = 60.0  # seconds for serve to print its address
FIRST_BUILD_TIMEOUT = 900.0  # seconds; a cold build of a large corpus takes minutes
STOP_TIMEOUT = 30.0
POLL = 0.05  # seconds between status requests while the first build runs
SERVING = re.compile(r"^Serving .* at (http://\S+)")
BUILT = re.compile(r"^(?:Built|Rebuilt) in ([0-9.]+) s")
EXPECTED = re.compile(r"^(?:Serving |Built in |Rebuilt in |Stopped\.$)")
DATE = re.compile(r"^date:\s*[\"']?(\d{4})-(\d{2})", re.MULTILINE)


# --------------------------------------------------------------------------------------
# serve, its output and its event stream


class Serve:
    """`marginalia serve` as a subprocess: its merged output is read in a thread."""

    def __init__(self, root: Path) -> None:
        self.started = time.perf_counter()
        # A session of its own: a Ctrl-C of the benchmark reaches serve only through stop(),
        # after the edits have been put back; kill() takes the build workers too.
        self.proc = subprocess.Popen(
            [*SERVE, str(root)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            start_new_session=True,
        )
        self.lines: list[str] = []
        self.url: queue.Queue[str] = queue.Queue()
        self.builds: queue.Queue[float] = queue.Queue()  # serve's own seconds per build
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            self.lines.append(line)
            if match := SERVING.match(line):
                self.url.put(match.group(1))
            elif match := BUILT.match(line):
                self.builds.put(float(match.group(1)))

    def output(self) -> str:
        return "\n".join(self.lines)

    def error(self, message: str) -> BenchError:
        if self.proc.poll() is not None:
            message += f" (serve exited with status {self.proc.returncode})"
        return BenchError(f"{message}\n--- serve's output ---\n{self.output()}")

    def wait_for_url(self) -> str:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                return self.url.get(timeout=0.1)
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
        raise self.error("serve did not print the address it serves at")

    def own_build_time(self) -> float:
        """serve's "Built/Rebuilt in X s" for the next build; it prints it just after the
        build's event is sent."""
        try:
            return self.builds.get(timeout=5)
        except queue.Empty:
            raise self.error("serve did not print the time of its build") from None

    def forget_builds(self) -> None:
        """Drop build times not yet taken, of builds no edit of ours caused."""
        while not self.builds.empty():
            progress(f"unexpected build by serve: {self.builds.get():.2f} s")

    def stop(self) -> int:
        """SIGINT, as Ctrl-C; killed (with its workers) if it is not gone in STOP_TIMEOUT."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                progress(f"serve did not stop within {STOP_TIMEOUT:.0f} s of SIGINT; killing it")
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._reader.join(5)
        return self.proc.returncode


@dataclass
class Event:
    name: str  # "hello", "reload", "failed"; "" when the stream has ended
    data: dict
    arrived: float  # time.perf_counter()


class EventStream:
    """/__marginalia/events read in a thread, as an EventSource would; events in a queue."""

    def __init__(self, host: str, port: int) -> None:
        self.events: queue.Queue[Event] = queue.Queue()
        conn = http.client.HTTPConnection(host, port, timeout=10)
        conn.connect()
        assert conn.sock is not None
        conn.sock.settimeout(None)  # events may be minutes apart; keepalives every 15 s
        conn.request("GET", EVENTS, headers={"Accept": "text/event-stream"})
        self.response = conn.getresponse()  # the connection is the response's from here
        if self.response.status != 200:
            raise BenchError(f"GET {EVENTS}: HTTP {self.response.status}")
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        name, data = "message", ""
        try:
            while line := self.response.readline():
                text = line.decode("utf-8").rstrip("\r\n")
                if text.startswith("event:"):
                    name = text[6:].strip()
                elif text.startswith("data:"):
                    data += text[5:].strip()
                elif not text and data:  # a blank line dispatches the event
                    self.events.put(Event(name, json.loads(data), time.perf_counter()))
                    name, data = "message", ""
        except (OSError, ValueError):
            pass
        self.events.put(Event("", {}, time.perf_counter()))

    def next(self, timeout: float) -> Event | None:
        try:
            return self.events.get(timeout=timeout)
        except queue.Empty:
            return None

    def pending(self) -> list[Event]:
        found = []
        while (event := self.next(0)) is not None:
            found.append(event)
        return found

    def close(self) -> None:
        self.response.close()


def get(host: str, port: int, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(host, port, timeout=30)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def status(host: str, port: int) -> dict:
    code, body = get(host, port, STATUS)
    if code != 200:
        raise BenchError(f"GET {STATUS}: HTTP {code}")
    return json.loads(body)


# --------------------------------------------------------------------------------------
# Measuring


@dataclass
class Edit:
    article: str  # relative to the corpus
    to_reload: float
    to_page: float
    rebuild: float  # serve's own "Rebuilt in"


@dataclass
class Result:
    size: int
    first_build: float = float("nan")  # process start to status showing it
    first_build_own: float = float("nan")  # serve's "Built in"
    warm: bool = False  # site/ and .cache/ were there before serve started
    edits: list[Edit] = field(default_factory=list)
    load_start: str = ""  # load averages (1, 5, 15 min)
    load_end: str = ""


def load_average() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def page_path(prefix: str, article: Path) -> str:
    """The article's URL path: the default permalink /{year}/{month}/{slug}/ (the corpus
    sets no other) under the served prefix; year and month from its front matter date."""
    match = DATE.search(article.read_text(encoding="utf-8"))
    if match is None:
        raise BenchError(f"no date in the front matter of {article}")
    year, month = match.groups()
    return f"{prefix.rstrip('/')}/{year}/{month}/{article.stem}/"


def wait_first_build(serve: Serve, host: str, port: int) -> dict:
    deadline = time.monotonic() + FIRST_BUILD_TIMEOUT
    while time.monotonic() < deadline:
        if serve.proc.poll() is not None:
            raise serve.error("serve exited during its first build")
        try:
            state = status(host, port)
        except (OSError, ValueError, BenchError):
            state = {}
        if state.get("builds", 0) >= 1:
            if state["failures"]:
                raise serve.error(f"serve's first build failed: {state['errors']}")
            return state
        time.sleep(POLL)
    raise serve.error(f"serve's first build did not finish in {FIRST_BUILD_TIMEOUT:.0f} s")


def wait_reload(serve: Serve, stream: EventStream, timeout: float) -> Event:
    """The next reload event; raise on a failed build, the stream's end or the timeout."""
    deadline = time.perf_counter() + timeout
    while (left := deadline - time.perf_counter()) > 0:
        event = stream.next(left)
        if event is None:
            break
        if event.name == "reload":
            return event
        if event.name == "failed":
            raise serve.error(f"serve's build failed: {event.data.get('errors')}")
        if not event.name:
            raise serve.error(f"{EVENTS} ended")
    raise serve.error(f"no reload event within {timeout:.0f} s")


def wait_event(serve: Serve, stream: EventStream, name: str) -> Event:
    event = stream.next(10)
    if event is None or event.name != name:
        raise serve.error(f"expected a {name} event on {EVENTS}, got {event}")
    return event


def measure(workdir: Path, size: int, edits: int) -> Result:
    root = ensure_corpus(workdir, size)
    articles = sorted((root / "content").rglob("*.md"))
    result = Result(size, warm=(root / "site").is_dir() and (root / ".cache").is_dir())
    result.load_start = load_average()
    progress(f"[{size}] starting serve on {root} (load average {result.load_start})")
    serve = Serve(root)
    stream = None
    try:
        url = urlsplit(serve.wait_for_url())
        host, port = url.hostname or "127.0.0.1", url.port or 80
        state = wait_first_build(serve, host, port)
        result.first_build = time.perf_counter() - serve.started
        result.first_build_own = serve.own_build_time()
        progress(
            f"[{size}] first build: {result.first_build:.2f} s from start "
            f"(serve: {result.first_build_own:.2f} s), at {url.geturl()}"
        )

        stream = EventStream(host, port)
        hello = wait_event(serve, stream, "hello")
        if hello.data.get("token") != state["token"]:
            raise serve.error(f"hello {hello.data} does not match the status {state}")
        epoch = hello.data["epoch"]

        for i in range(edits):
            article = articles[((2 * i + 1) * len(articles)) // (2 * edits)]
            path = page_path(state["prefix"], article)
            time.sleep(QUIET)
            for event in stream.pending():
                progress(f"[{size}] unexpected event before edit {i + 1}: {event}")
                if not event.name:
                    raise serve.error(f"{EVENTS} ended")
            serve.forget_builds()
            edit_article(workdir, size, root, article, i + 1)
            saved = time.perf_counter()
            reload = wait_reload(serve, stream, EDIT_TIMEOUT)
            code, body = get(host, port, path)
            received = time.perf_counter()
            rebuild = serve.own_build_time()
            sentence = f"The benchmark appended this sentence in run {i + 1}."  # edit_article's
            if code != 200 or sentence.encode() not in body:
                raise serve.error(
                    f"after the reload, GET {path} gave HTTP {code} without the sentence "
                    f"appended to {article.relative_to(root)}"
                )
            if reload.data["epoch"] != epoch + 1:
                progress(f"[{size}] edit {i + 1}: epoch {epoch} -> {reload.data['epoch']}")
            epoch = reload.data["epoch"]
            edit = Edit(
                str(article.relative_to(root)), reload.arrived - saved, received - saved, rebuild
            )
            result.edits.append(edit)
            progress(
                f"[{size}] edit {i + 1}/{edits}: reload {edit.to_reload:.3f} s, page "
                f"{edit.to_page:.3f} s, serve's rebuild {rebuild:.2f} s ({edit.article})"
            )

        restore_pending(workdir, size, root)
        wait_reload(serve, stream, EDIT_TIMEOUT)
        progress(f"[{size}] edits put back and rebuilt")
    except OSError as exc:  # a request to serve failed
        raise serve.error(f"talking to serve: {exc}") from None
    finally:
        restore_pending(workdir, size, root)
        code = serve.stop()
        if stream is not None:
            stream.close()
    if code not in (0, 130):
        raise serve.error(f"serve exited with status {code} after SIGINT")
    result.load_end = load_average()
    unexpected = [line for line in serve.lines if line.strip() and not EXPECTED.match(line)]
    if unexpected:
        progress(f"[{size}] serve's other output:\n" + "\n".join(unexpected))
    return result


# --------------------------------------------------------------------------------------
# Reporting


def table(result: Result) -> str:
    head = ["edit", "article", "save to reload s", "save to page s", "serve's rebuild s"]
    # serve prints its rebuild time to 0.01 s
    columns = [
        ([e.to_reload for e in result.edits], "{:.3f}"),
        ([e.to_page for e in result.edits], "{:.3f}"),
        ([e.rebuild for e in result.edits], "{:.2f}"),
    ]
    rows = [
        [str(n), e.article, *(form.format(values[n - 1]) for values, form in columns)]
        for n, e in enumerate(result.edits, 1)
    ]
    for label, summary in (("median", statistics.median), ("max", max)):
        rows.append([label, "", *(form.format(summary(values)) for values, form in columns)])
    widths = [max(len(row[c]) for row in [head, *rows]) for c in range(len(head))]

    def line(cells: list[str]) -> str:
        padded = [cells[0].rjust(widths[0]), cells[1].ljust(widths[1])]
        padded += [c.rjust(w) for c, w in zip(cells[2:], widths[2:], strict=True)]
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "-" * (widths[0] + 1) + ":|:" + "-" * (widths[1] + 1) + "|"
    rule += "|".join("-" * (w + 1) + ":" for w in widths[2:]) + "|"
    state = "warm: site/ and .cache/ from earlier builds" if result.warm else "cold"
    notes = [
        f"{result.size:,} articles; serve's first build ({state}): {result.first_build:.2f} s "
        f"from process start, {result.first_build_own:.2f} s by serve's account.",
        f"{len(result.edits)} edits, each after {QUIET:g} s quiet; times from the write's "
        "return, serve's 0.1 s debounce included.",
        f"Load average (1, 5, 15 min) at start: {result.load_start}; at end: {result.load_end}.",
    ]
    return "\n".join([*notes, "", line(head), rule, *(line(row) for row in rows)])


# --------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=positive, default=10000, help="articles in the corpus")
    parser.add_argument("--edits", type=positive, default=7, help="edits to time")
    parser.add_argument("--workdir", type=Path, help="corpus cache (kept); default: a temp dir")
    args = parser.parse_args()

    if not MAKE_CORPUS.is_file():
        print(f"serve_bench: missing {MAKE_CORPUS}", file=sys.stderr)
        return 2
    workdir = open_workdir(args.workdir, "serve-bench-")
    try:
        # build_bench's line ends with how it measures memory, which this one does not
        print(machine_line().partition("; peak memory:")[0], flush=True)
        print()
        print(table(measure(workdir, args.size, args.edits)))
    except BenchError as error:
        print(f"serve_bench: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("serve_bench: interrupted; the edits were put back", file=sys.stderr)
        return 130
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
