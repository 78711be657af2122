"""Prove that Marginalia installs without a compiler wherever a newcomer may run it.

For every runtime dependency, transitive ones included, and for each target (each
CPython that pyproject.toml's classifiers name, 3.11 to 3.14 today, on manylinux x86_64
and aarch64, macOS arm64 and Windows amd64), pip must find a wheel: a binary one for
that Python and platform, or a pure-Python one. A dependency that has none would be
built from its source on that machine, which needs a compiler (and for Rust extensions
a Rust toolchain) that a newcomer does not have.

The dependencies are read at run time: pyproject.toml's [project.dependencies], then
each one's own requirements from the metadata installed in this environment (run it in
the venv that `pip install -e .` made), every environment marker evaluated for the
target and extras honoured. The versions checked are the installed ones, which are what
pip picks on a fresh machine; a dependency needed only on another platform (not
installed here) is checked at the newest version its requirement allows, and its own
requirements are read from the wheel pip finds.

Exit status 0 when every dependency has a wheel on every target; 1 otherwise, with one
line for each package, Python and platform that would need a compiler.
Usage: python .ci/wheels.py
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
import tomllib
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email.message import Message
from email.parser import Parser
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name, parse_wheel_filename

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
PYTHON_CLASSIFIER = re.compile(r"Programming Language :: Python :: (3\.\d+)$")
# The oldest systems a wheel must serve: glibc 2.28 (RHEL 8, Debian 10 and every later
# distribution) and macOS 14, the oldest that Apple still updates.
GLIBC_MINOR = 28
MACOS = "14_0"
# pip calls in flight, one target each: they spend most of their time on the network
PARALLEL = 8
NOT_FOUND = re.compile(r"Could not find a version that satisfies the requirement (\S+)")


def manylinux(arch: str) -> tuple[str, ...]:
    """Every manylinux tag that a system with GLIBC_MINOR runs, newest first: pip takes
    `--platform manylinux_2_28_x86_64` literally, without the older ones it implies."""
    tags = [f"manylinux_2_{minor}_{arch}" for minor in range(GLIBC_MINOR, 4, -1)]
    # and their old names: manylinux2014 is 2_17; 2010 (2_12) and 1 (2_5) are x86 only
    tags.append(f"manylinux2014_{arch}")
    if arch == "x86_64":
        tags += [f"manylinux2010_{arch}", f"manylinux1_{arch}"]
    return tuple(tags)


@dataclass(frozen=True)
class Platform:
    name: str
    pip_platforms: tuple[str, ...]  # pip expands a macosx tag to older releases itself
    markers: dict[str, str]  # the environment markers that do not depend on the Python


PLATFORMS = (
    Platform(
        "manylinux x86_64",
        manylinux("x86_64"),
        {"sys_platform": "linux", "platform_system": "Linux", "os_name": "posix",
         "platform_machine": "x86_64"},
    ),
    Platform(
        "manylinux aarch64",
        manylinux("aarch64"),
        {"sys_platform": "linux", "platform_system": "Linux", "os_name": "posix",
         "platform_machine": "aarch64"},
    ),
    Platform(
        "macOS arm64",
        (f"macosx_{MACOS}_arm64",),
        {"sys_platform": "darwin", "platform_system": "Darwin", "os_name": "posix",
         "platform_machine": "arm64"},
    ),
    Platform(
        "Windows amd64",
        ("win_amd64",),
        {"sys_platform": "win32", "platform_system": "Windows", "os_name": "nt",
         "platform_machine": "AMD64"},
    ),
)  # fmt: skip


@dataclass(frozen=True)
class Target:
    python: str
    platform: Platform

    def __str__(self) -> str:
        return f"CPython {self.python} on {self.platform.name}"

    def markers(self, extra: str) -> dict[str, str]:
        full = f"{self.python}.0"
        return {
            **self.platform.markers,
            "python_version": self.python,
            "python_full_version": full,
            "implementation_name": "cpython",
            "implementation_version": full,
            "platform_python_implementation": "CPython",
            "platform_release": "",
            "platform_version": "",
            "extra": extra,
        }

    def pip_download(self, requirements: list[str], dest: Path) -> subprocess.CompletedProcess:
        """pip download, wheels only, no dependencies (we resolve those), for this target."""
        abi = "cp" + self.python.replace(".", "")
        options = ["--python-version", self.python, "--implementation", "cp", "--abi", abi]
        for tag in self.platform.pip_platforms:
            options += ["--platform", tag]
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
        command += ["--only-binary=:all:", "--disable-pip-version-check", "--dest", str(dest)]
        return subprocess.run(
            [*command, *options, *requirements], capture_output=True, text=True, check=False
        )


@dataclass
class Check:
    """One target's check: the dependency closure as pip would install it there (pins and
    their requirements), and the pins that have no wheel for it."""

    target: Target
    dest: Path
    pins: dict[NormalizedName, str] = field(default_factory=dict)
    requires: dict[NormalizedName, list[str]] = field(default_factory=dict)
    extras: dict[NormalizedName, set[str]] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)

    def run(self, roots: list[Requirement]) -> Check:
        """Resolve and download in rounds: one pip call for everything found so far,
        then the requirements of those not installed here, read from their wheels."""
        queue = [(root, "") for root in roots]
        downloaded: set[str] = set()
        while queue:
            from_wheels = self.resolve(queue)
            batch = sorted(set(self.pins.values()) - downloaded)
            downloaded.update(batch)
            self.download(batch)
            queue = []
            for name in from_wheels:
                metadata = wheel_metadata(self.dest, name)
                if metadata is not None:  # else it is missing, and reported
                    self.requires[name] = metadata.get_all("Requires-Dist") or []
                    queue += self.dependencies(name)
        return self

    def resolve(self, queue: list[tuple[Requirement, str]]) -> list[NormalizedName]:
        """Pin every requirement reachable from queue (each with the extra it was asked
        under) whose markers hold on the target, at the installed version. Returns those
        not installed here: pinned to their requirement, their own wait for the wheel."""
        from_wheels = []
        while queue:
            requirement, extra = queue.pop()
            if requirement.marker and not requirement.marker.evaluate(self.target.markers(extra)):
                continue
            name = canonicalize_name(requirement.name)
            if name in self.extras and requirement.extras <= self.extras[name]:
                continue
            self.extras.setdefault(name, set()).update(requirement.extras)
            if name not in self.pins:
                try:
                    installed = distribution(name)
                except PackageNotFoundError:
                    self.pins[name] = f"{requirement.name}{requirement.specifier}"
                    from_wheels.append(name)
                    continue
                self.pins[name] = f"{requirement.name}=={installed.version}"
                self.requires[name] = installed.requires or []
            queue += self.dependencies(name)
        return from_wheels

    def dependencies(self, name: NormalizedName) -> list[tuple[Requirement, str]]:
        """The requirements of a pinned package, each under no extra and under each extra
        it was asked for (a marker `extra == "x"` holds only under x)."""
        lines = self.requires.get(name, [])
        return [(Requirement(line), e) for line in lines for e in ("", *self.extras[name])]

    def download(self, pins: list[str]) -> None:
        """Download pins in one pip call; when pip finds no wheel for one, record it and
        try the rest again."""
        pins = list(pins)
        while pins:
            done = self.target.pip_download(pins, self.dest)
            if done.returncode == 0:
                return
            named = NOT_FOUND.search(done.stderr)
            if named is None or named.group(1) not in pins:
                last = (done.stderr.strip().splitlines() or ["no output"])[-1]
                self.missing.append(f"{' '.join(pins)} (pip: {last})")
                return
            self.missing.append(named.group(1))
            pins.remove(named.group(1))


def wheel_metadata(folder: Path, name: NormalizedName) -> Message | None:
    """The METADATA of the wheel of `name` that pip downloaded into folder, if any."""
    for wheel in folder.glob("*.whl"):
        if parse_wheel_filename(wheel.name)[0] == name:
            with zipfile.ZipFile(wheel) as archive:
                member = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
                return Parser().parsestr(archive.read(member).decode("utf-8"))
    return None


def main() -> int:
    started = time.monotonic()
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    roots = [Requirement(line) for line in project["dependencies"]]
    pythons = [m[1] for c in project["classifiers"] if (m := PYTHON_CLASSIFIER.match(c))]
    if not pythons:
        print("wheels: pyproject.toml's classifiers name no Python 3.x", file=sys.stderr)
        return 1
    targets = [Target(python, platform) for python in pythons for platform in PLATFORMS]
    with (
        tempfile.TemporaryDirectory(prefix="wheels-") as scratch,
        ThreadPoolExecutor(PARALLEL) as pool,
    ):
        checks = [Check(target, Path(scratch) / str(i)) for i, target in enumerate(targets)]
        checks = list(pool.map(lambda each: each.run(roots), checks))
    names = sorted({pin for each in checks for pin in each.pins.values()})
    print(f"wheels: {len(names)} packages on {len(targets)} targets: {', '.join(names)}")
    failures = [(miss, each.target) for each in checks for miss in each.missing]
    for miss, target in failures:
        print(f"{miss}: no wheel for {target}; pip would build it from source, "
              "which needs a compiler", file=sys.stderr)  # fmt: skip
    took = time.monotonic() - started
    if failures:
        print(f"wheels: {len(failures)} missing, in {took:.1f} s", file=sys.stderr)
        return 1
    print(f"wheels: every one installs from a wheel on every target, in {took:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
