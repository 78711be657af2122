"""config.yaml loaded into typed, validated settings.

Every key is declared here with its type and default; an unknown or mistyped key is an
error naming its path and line, all of them at once.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from . import yamltext
from .content import is_service_url, is_web_url, near_miss
from .errors import Problems

CONFIG_FILE = "config.yaml"
PLACEHOLDER_BASE_URL = "https://USER.github.io/REPOSITORY/"
"""The base_url `init` writes, for the editor to replace: a build with it warns."""
PERMALINK_FIELDS = ("year", "month", "day", "slug")
BUCKET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,61}[A-Za-z0-9]")
# A setting that looks like a credential: config.yaml is committed, so never read one there.
CREDENTIAL = re.compile(r"key|secret|password|token|credential", re.IGNORECASE)
# GitHub's rules: an owner is letters, digits and single inner hyphens (at most 39);
# a repository name is letters, digits, '.', '_' and '-', but not '.' or '..'.
GITHUB_REPOSITORY = re.compile(
    r"(?=[^/]{1,39}/)[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*/(?!\.{1,2}$)[A-Za-z0-9._-]{1,100}"
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class MarkdownSettings(_Strict):
    unsafe_html: bool = False
    """Allow raw HTML in articles (never in analyses)."""


class FeedSettings(_Strict):
    limit: Annotated[int, Field(ge=1)] = 20
    """Entries of the site's Atom feed."""
    tag_limit: Annotated[int, Field(ge=1)] = 5
    """Entries of each tag's Atom feed: a tag gains entries slower than the site, and its
    feed is rewritten with each of them (issue 21: 20 full entries were 10% of a site)."""


class Prices(_Strict):
    input: Annotated[float, Field(ge=0)] = 0.0
    output: Annotated[float, Field(ge=0)] = 0.0

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        """USD for these tokens (the prices are per million)."""
        return (input_tokens * self.input + output_tokens * self.output) / 1e6


class AnalysisSettings(_Strict):
    model: str = "gpt-4o-mini"
    base_url: str | None = None
    """An OpenAI-compatible endpoint; OPENAI_BASE_URL, when set, wins over it."""
    prompt: str = "analysis"
    """The prompt in prompts/<name>.md."""
    concurrency: Annotated[int, Field(ge=1, le=256)] = 4
    max_retries: Annotated[int, Field(ge=0, le=20)] = 5
    timeout: Annotated[float, Field(gt=0)] = 120.0
    price_per_million_tokens: Prices = Prices()
    batch_price_per_million_tokens: Prices | None = None
    """Prices of batch jobs (analyze --batch); unset: half of price_per_million_tokens."""
    structured: Literal["auto", "json_schema", "json_object"] = "auto"
    """How the answer's JSON is asked for (analysis/answer.py): Structured Outputs, JSON
    mode, or auto: Structured Outputs until the server refuses them."""

    @property
    def batch_prices(self) -> Prices:
        if self.batch_price_per_million_tokens is not None:
            return self.batch_price_per_million_tokens
        full = self.price_per_million_tokens
        return Prices(input=full.input / 2, output=full.output / 2)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not is_service_url(value):
            raise ValueError("must be an http(s) URL with a host name or IP address")
        return value

    @field_validator("prompt")
    @classmethod
    def _prompt_name(cls, value: str) -> str:
        if not re.fullmatch(r"[\w-]+", value):
            raise ValueError("must be a file name in prompts/ without .md")
        return value


class DeploySettings(_Strict):
    """Where `deploy` publishes site/: an S3-compatible bucket. The credentials are never
    here: they come from the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)."""

    bucket: str | None = None
    endpoint_url: str | None = None
    """The provider's S3 endpoint (R2, B2, MinIO...); unset: AWS S3 in `region`."""
    region: str | None = None
    prefix: str = ""
    """A folder of the bucket that holds the site; everything else under it is deleted."""
    concurrency: Annotated[int, Field(ge=1, le=64)] = 8
    """Uploads in flight at once."""

    @field_validator("bucket")
    @classmethod
    def _bucket_name(cls, value: str | None) -> str | None:
        if value is not None and not BUCKET_NAME.fullmatch(value):
            raise ValueError(
                "must be a bucket name: 3 to 63 letters, digits, '.', '-' or '_', like my-archive"
            )
        return value

    @field_validator("endpoint_url")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value is not None and not is_web_url(value):
            raise ValueError(
                "must be an http(s) URL, like https://ACCOUNT.r2.cloudflarestorage.com"
            )
        return value

    @field_validator("prefix")
    @classmethod
    def _folder(cls, value: str) -> str:
        folder = value.strip("/")
        if folder and any(part in ("", ".", "..") for part in folder.split("/")):
            raise ValueError("must be a folder path like archive/ (no '..', '.' or '//')")
        if "\\" in folder:
            raise ValueError("must use '/' between folders, not '\\'")
        return folder + "/" if folder else ""


class Settings(_Strict):
    title: str
    base_url: str
    """Absolute URL the site is served at; its path is the prefix of every link."""
    description: str = ""
    language: str = "en"
    timezone: str = "UTC"
    """Time zone given to dates written without one."""
    paginate: Annotated[int, Field(ge=1)] = 20
    permalink: str = "/{year}/{month}/{slug}/"
    cname: str | None = None
    repository: str | None = None
    """OWNER/NAME on GitHub: article pages link to its analysis request form."""
    search: bool = True
    """Index the articles with Pagefind: site/pagefind/, /search/ and the header's box."""
    markdown: MarkdownSettings = MarkdownSettings()
    feed: FeedSettings = FeedSettings()
    analysis: AnalysisSettings = AnalysisSettings()
    deploy: DeploySettings = DeploySettings()

    @field_validator("base_url")
    @classmethod
    def _absolute_url(cls, value: str) -> str:
        if not is_web_url(value):
            raise ValueError("must be an absolute http(s) URL, like https://user.github.io/repo/")
        parts = urlsplit(value)
        if parts.query or parts.fragment:
            raise ValueError("must not have a query or fragment")
        return value if value.endswith("/") else value + "/"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from None
        return value

    @field_validator("permalink")
    @classmethod
    def _permalink_pattern(cls, value: str) -> str:
        if not (value.startswith("/") and value.endswith("/")):
            raise ValueError("must start and end with /")
        fields = re.findall(r"\{([^{}]*)\}", value)
        unknown = sorted(set(fields) - set(PERMALINK_FIELDS))
        if unknown:
            raise ValueError(f"unknown field {{{unknown[0]}}}; use {PERMALINK_FIELDS}")
        if set("{}") & set(re.sub(r"\{[^{}]*\}", "", value)):
            raise ValueError("has a '{' or '}' that is not part of a {field}")
        if "slug" not in fields:
            raise ValueError("must contain {slug}")
        if ".." in value or "\\" in value:
            raise ValueError("must not contain '..' or '\\'")
        if any(part in ("", ".") for part in value[1:-1].split("/")):
            raise ValueError("must not have an empty or '.' path segment")
        return value

    @field_validator("cname")
    @classmethod
    def _hostname(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9.-]+", value):
            raise ValueError("must be a bare host name, like news.example.org")
        return value

    @field_validator("repository")
    @classmethod
    def _github_repository(cls, value: str | None) -> str | None:
        if value is not None and not GITHUB_REPOSITORY.fullmatch(value):
            raise ValueError("must be a GitHub repository as OWNER/NAME, like octocat/news")
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def base_path(self) -> str:
        """The path prefix of every internal link: '/' or '/repo/'."""
        return urlsplit(self.base_url).path or "/"

    def with_base_url(self, base_url: str) -> Settings:
        """A copy served elsewhere (build --base-url), validated like the file's value."""
        return Settings.model_validate({**self.model_dump(), "base_url": base_url})


def _known_keys(parents: list) -> frozenset[str]:
    """The settings that the mapping at `parents` (a path of keys) may hold."""
    model: type[BaseModel] = Settings
    for key in parents:
        field = model.model_fields.get(str(key))
        if field is None or not (
            isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)
        ):
            return frozenset()
        model = field.annotation
    return frozenset(model.model_fields)


def _describe(error: dict) -> str:
    """A pydantic error in the words of a config file."""
    kind = error["type"]
    if kind == "extra_forbidden":
        *parents, key = error["loc"]
        if parents == ["deploy"] and CREDENTIAL.search(str(key)):
            return (
                "credentials are never read from config.yaml: set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY in the environment (in GitHub Actions, as secrets)"
            )
        close = near_miss(str(key), _known_keys(parents))
        return f"unknown setting: did you mean '{close}'?" if close else "unknown setting"
    if kind == "missing":
        return "required setting is missing"
    if kind == "model_type":
        return "must be a mapping of settings"
    message = error["msg"]
    return message.removeprefix("Value error, ")


def parse_settings(text: str, path: str, overrides: dict | None = None) -> Settings:
    """Validate config text; raise InputError listing every bad key with its line."""
    problems = Problems()
    try:
        data = yamltext.load(text) if text.strip() else {}
    except yamltext.YamlSyntaxError as exc:
        problems.error(path, exc.line, f"YAML syntax error: {exc.message}")
        problems.raise_if_errors()
    if not isinstance(data, dict):
        problems.error(path, 1, "must be a mapping of settings (key: value)")
        problems.raise_if_errors()
    try:
        return Settings.model_validate({**data, **(overrides or {})})
    except ValidationError as exc:
        for error in exc.errors():
            loc = [str(step) if not isinstance(step, int) else step for step in error["loc"]]
            name = ".".join(str(step) for step in loc)
            if overrides and loc and loc[0] in overrides:  # a command-line option, not the file
                problems.error(f"--{str(loc[0]).replace('_', '-')}", None, _describe(error))
                continue
            line = yamltext.line_of(text, loc) if loc and text.strip() else None
            problems.error(path, line, f"{name}: {_describe(error)}")
        problems.raise_if_errors()
        raise  # unreachable: raise_if_errors raised


def load_settings(
    root: Path, base_url: str | None = None, repository: str | None = None
) -> Settings:
    """Read root/config.yaml; `base_url` and `repository` (from the command line) replace
    the file's."""
    path = root / CONFIG_FILE
    problems = Problems()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        problems.error(CONFIG_FILE, None, f"not found in {root} (is this a Marginalia site?)")
        problems.raise_if_errors()
    except UnicodeDecodeError as exc:
        problems.error(CONFIG_FILE, None, f"is not UTF-8 text ({exc.reason})")
        problems.raise_if_errors()
    given = {"base_url": base_url, "repository": repository}
    overrides = {key: value for key, value in given.items() if value}
    return parse_settings(text, CONFIG_FILE, overrides or None)
