"""deploy (issue 21): site/ published to an S3-compatible bucket, here `rclone serve s3`
on 127.0.0.1 over a temporary folder, through a proxy that records each request and can
drop the connection (tests/s3_server.py); boto3 and the server run for real.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import PYTHON, REPO, article
from s3_server import ACCESS_KEY, BUCKET, SECRET_KEY, S3Server, s3_fixture  # noqa: F401

from marginalia.config import parse_settings
from marginalia.deploy.headers import FOREVER, REVALIDATE, SHORT, Phase, stored_as
from marginalia.errors import InputError

PREFIX = "archive/"
CONFIG = f"""\
title: Test Archive
base_url: https://example.org/archive/
search: false
deploy:
  bucket: {BUCKET}
  prefix: {PREFIX}
  region: us-east-1
"""


@pytest.fixture(autouse=True)
def _credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The test server's keys in the environment, and nothing else of AWS's."""
    import os

    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # never ask 169.254.169.254
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")  # one retry: a dropped network fails fast


def tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def built(site, run, files: dict[str, str | bytes], search: bool = False) -> Path:
    config = CONFIG if not search else CONFIG.replace("search: false", "search: true")
    root = site({"config.yaml": config, **files})
    result = run("build", "--root", root)
    assert result.status == 0, result.err
    return root


def rebuild(run, root: Path) -> None:
    result = run("build", "--root", root)
    assert result.status == 0, result.err


def deploy(run, root: Path, s3: S3Server, *more: str):
    return run("deploy", "--root", root, "--endpoint-url", s3.endpoint, *more)


ARTICLES = {
    "content/a.md": article(
        "Harbour dues rise", "2024-05-01", "The council raised dues.", tags="port"
    ),
    "content/b.md": article("Ferry timetable", "2024-05-02", "Ferries run hourly.", tags="port"),
    "content/c.md": article("Mill closes", "2024-05-03", "The mill closed.", tags="mill, 製粉"),
}


def test_the_first_deploy_puts_every_file_with_its_type_and_cache_and_a_rerun_sends_nothing(
    site, run, s3: S3Server
) -> None:
    import boto3

    root = built(site, run, ARTICLES, search=True)
    first = deploy(run, root, s3)
    assert first.status == 0, first.err
    files = tree(root / "site")
    assert tree(s3.folder(PREFIX)) == files
    assert sorted(s3.puts()) == sorted(PREFIX + rel for rel in files)
    assert first.out.splitlines()[-1].startswith(
        f"Deployed site/ to s3://{BUCKET}/{PREFIX} at {s3.endpoint}: uploaded {len(files)} files"
    )

    client = boto3.client(
        "s3",
        endpoint_url=s3.upstream_endpoint,
        region_name="us-east-1",
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )
    fragment = next(rel for rel in files if rel.startswith("pagefind/fragment/"))
    for rel, kind, cache in (
        ("index.html", "text/html; charset=utf-8", SHORT),
        ("feed.xml", "application/xml; charset=utf-8", SHORT),
        ("sitemap.xml", "application/xml; charset=utf-8", SHORT),
        ("static/style.css", "text/css; charset=utf-8", FOREVER),
        ("pagefind/pagefind-entry.json", "application/json", REVALIDATE),
        ("pagefind/pagefind.js", "text/javascript; charset=utf-8", REVALIDATE),
        (fragment, "application/octet-stream", FOREVER),
    ):
        head = client.head_object(Bucket=BUCKET, Key=PREFIX + rel)
        assert (head["ContentType"], head["CacheControl"]) == (kind, cache), rel

    s3.requests.clear()
    again = deploy(run, root, s3)
    assert again.status == 0, again.err
    assert s3.puts() == []
    assert f"uploaded 0 files (0 bytes), deleted 0, {len(files)} unchanged" in again.out


def test_an_edit_to_one_article_uploads_only_the_files_it_changed(site, run, s3: S3Server) -> None:
    root = built(site, run, ARTICLES, search=True)
    assert deploy(run, root, s3).status == 0
    before = tree(root / "site")
    (root / "content/b.md").write_text(
        article("Ferry timetable", "2024-05-02", "Ferries run every half hour.", tags="port")
    )
    rebuild(run, root)
    after = tree(root / "site")
    changed = sorted(rel for rel in after if before.get(rel) != after[rel])
    s3.requests.clear()
    result = deploy(run, root, s3)
    assert result.status == 0, result.err
    assert sorted(s3.puts()) == [PREFIX + rel for rel in changed]
    assert 0 < len(changed) < len(after) / 2, f"{len(changed)} of {len(after)} files"
    assert f"uploaded {len(changed)} files" in result.out
    assert tree(s3.folder(PREFIX)) == after


def test_a_removed_article_is_deleted_after_everything_else_is_up(site, run, s3: S3Server) -> None:
    root = built(site, run, ARTICLES)
    assert deploy(run, root, s3).status == 0
    gone = {
        rel
        for rel in tree(root / "site")
        if rel.startswith(("2024/05/c/", "tags/mill/", "tags/製粉/"))
    }
    assert {"2024/05/c/index.html", "tags/mill/feed.xml", "tags/製粉/index.html"} <= gone
    (root / "content/c.md").unlink()
    (root / "content/d.md").write_text(article("Pier reopens", "2024-05-04", "It reopened."))
    (root / "static/logo.svg").parent.mkdir()
    (root / "static/logo.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    rebuild(run, root)
    s3.requests.clear()
    result = deploy(run, root, s3)
    assert result.status == 0, result.err
    assert tree(s3.folder(PREFIX)) == tree(root / "site")

    # the server saw every PUT before the one DeleteObjects request
    methods = [method for method, _, _ in s3.requests if method in ("PUT", "POST")]
    assert methods[-1] == "POST" and "POST" not in methods[:-1], methods
    assert "delete" in s3.requests[-1][2]
    # assets before the pages that show them; feeds and sitemaps after the pages they name
    puts = s3.puts()
    order = {key.removeprefix(PREFIX): index for index, key in enumerate(puts)}
    assert order["logo.svg"] < order["2024/05/d/index.html"] < order["feed.xml"]
    assert max(i for rel, i in order.items() if rel.endswith(".html")) < order["sitemap.xml"]
    # and the deploy's own log says the same
    lines = result.out.splitlines()[:-1]
    deleted = [line.removeprefix("deleted ") for line in lines if line.startswith("deleted ")]
    assert set(deleted) == gone
    assert lines.index(f"deleted {sorted(gone)[0]}") == len(puts)


def test_a_dropped_connection_then_a_rerun_leaves_the_bucket_equal_to_site(
    site, run, s3: S3Server
) -> None:
    root = built(site, run, ARTICLES)
    assert deploy(run, root, s3).status == 0
    (root / "content/a.md").write_text(article("Harbour dues rise", "2024-05-01", "Again."))
    (root / "content/c.md").unlink()
    for n in range(6):
        (root / f"content/new-{n}.md").write_text(article(f"New {n}", f"2024-06-0{n + 1}"))
    rebuild(run, root)

    s3.drop_after(3)
    cut = deploy(run, root, s3)
    assert cut.status == 1
    message = cut.err.strip()
    assert "\n" not in message and "Traceback" not in message, message
    assert f"s3://{BUCKET}/{PREFIX} at {s3.endpoint}" in message
    assert message.endswith("nothing deleted: run deploy again to finish"), message
    left = tree(s3.folder(PREFIX))
    assert "2024/05/c/index.html" in left  # nothing deleted
    assert left != tree(root / "site")

    s3.restore()
    rerun = deploy(run, root, s3)
    assert rerun.status == 0, rerun.err
    assert tree(s3.folder(PREFIX)) == tree(root / "site")
    assert "deleted 2024/05/c/index.html" in rerun.out.splitlines()


def test_wrong_or_missing_credentials_are_a_clear_error(
    site, run, s3: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = built(site, run, ARTICLES)
    wrong = "wrong-secret-4f9d2c"
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", wrong)
    result = deploy(run, root, s3)
    assert result.status == 1
    assert result.err == (
        f"marginalia: could not list s3://{BUCKET}/{PREFIX} at {s3.endpoint}: refused the "
        "credentials (SignatureDoesNotMatch); check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY\n"
    )
    assert wrong not in result.out + result.err and ACCESS_KEY not in result.err

    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    missing = deploy(run, root, s3)
    assert missing.status == 1
    assert "no credentials; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" in missing.err
    assert s3.puts() == []


def test_an_unknown_bucket_or_an_unreachable_endpoint_is_one_line(site, run, s3: S3Server) -> None:
    root = built(site, run, ARTICLES)
    result = deploy(run, root, s3, "--bucket", "no-such-bucket")
    assert (result.status, result.err) == (
        1,
        f"marginalia: could not list s3://no-such-bucket/{PREFIX} at {s3.endpoint}: "
        "no such bucket\n",
    )
    s3.drop_after(0)
    dropped = deploy(run, root, s3)
    assert dropped.status == 1 and dropped.err.count("\n") == 1
    assert dropped.err.startswith(f"marginalia: could not list s3://{BUCKET}/{PREFIX} at ")


def test_dry_run_lists_the_uploads_and_deletions_and_sends_nothing(site, run, s3: S3Server) -> None:
    root = built(site, run, ARTICLES)
    assert deploy(run, root, s3).status == 0
    (root / "content/c.md").unlink()
    rebuild(run, root)
    s3.requests.clear()
    result = deploy(run, root, s3, "--dry-run")
    assert result.status == 0, result.err
    assert [method for method, _, _ in s3.requests] == ["GET"]  # the listing
    lines = result.out.splitlines()
    assert "would upload index.html (changed)" in lines
    assert "would delete 2024/05/c/index.html" in lines
    assert lines[-1].startswith("Would upload ") and lines[-1].endswith("Nothing was sent.")
    assert "2024/05/c/index.html" in tree(s3.folder(PREFIX))


# -- settings, and what is checked before the bucket is asked ----------------------------------


def config_error(deploy_lines: str) -> str:
    with pytest.raises(InputError) as caught:
        parse_settings(
            f"title: T\nbase_url: https://example.org/\ndeploy:\n{deploy_lines}", "config.yaml"
        )
    [error] = caught.value.errors
    return str(error)


def test_the_deploy_section_is_validated_like_the_rest_of_config() -> None:
    settings = parse_settings(
        "title: T\nbase_url: https://example.org/\ndeploy:\n  bucket: news\n  prefix: /a/b\n",
        "config.yaml",
    )
    assert (settings.deploy.bucket, settings.deploy.prefix) == ("news", "a/b/")
    assert config_error("  buckt: news\n") == (
        "config.yaml:4: deploy.buckt: unknown setting: did you mean 'bucket'?"
    )
    assert config_error("  prefix: a/../b\n").startswith("config.yaml:4: deploy.prefix: must be")
    assert "must be an http(s) URL" in config_error("  endpoint_url: ftp://x\n")
    assert config_error("  secret_access_key: abc\n") == (
        "config.yaml:4: deploy.secret_access_key: credentials are never read from config.yaml: "
        "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment (in GitHub "
        "Actions, as secrets)"
    )


def test_a_bad_flag_no_bucket_or_no_site_stops_before_any_request(site, run) -> None:
    root = site({"content/a.md": article("A")})
    no_bucket = run("deploy", "--root", root)
    assert no_bucket.status == 2 and "deploy needs a bucket" in no_bucket.err
    bad = run("deploy", "--root", root, "--bucket", "b", "--endpoint-url", "ftp://x")
    assert bad.status == 2 and "--endpoint-url: must be an http(s) URL" in bad.err
    unbuilt = run("deploy", "--root", root, "--bucket", "news")
    assert unbuilt.status == 1
    assert unbuilt.err.strip().endswith("has no files: run 'python build.py' first")


def test_without_boto3_deploy_says_how_to_install_it(site) -> None:
    root = site({"site/index.html": "<p>hi</p>"})
    code = (
        "import sys; sys.modules['boto3'] = None\n"  # as if it were not installed
        "from marginalia.cli import main\n"
        f"sys.exit(main(['deploy', '--root', {str(root)!r}, '--bucket', 'news']))"
    )
    result = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr == (
        'marginalia: deploy needs boto3, an optional dependency: pip install "marginalia[deploy]" '
        "(or pip install boto3)\n"
    )


@pytest.mark.parametrize(
    ("rel", "kind", "cache", "phase"),
    [
        ("static/style.css", "text/css; charset=utf-8", FOREVER, Phase.ASSETS),
        ("photos/pier.jpg", "image/jpeg", SHORT, Phase.ASSETS),
        (
            "pagefind/index/en_1a2b3c.pf_index",
            "application/octet-stream",
            FOREVER,
            Phase.SEARCH_INDEX,
        ),
        (
            "pagefind/pagefind.en_9f8e7d.pf_meta",
            "application/octet-stream",
            FOREVER,
            Phase.SEARCH_INDEX,
        ),
        ("pagefind/wasm.en.pagefind", "application/octet-stream", REVALIDATE, Phase.INDEXES),
        ("pagefind/pagefind-entry.json", "application/json", REVALIDATE, Phase.INDEXES),
        ("2024/05/c/index.html", "text/html; charset=utf-8", SHORT, Phase.PAGES),
        ("tags/port/feed.xml", "application/xml; charset=utf-8", SHORT, Phase.INDEXES),
    ],
)
def test_each_kind_of_file_is_stored_with_its_type_cache_and_phase(
    rel: str, kind: str, cache: str, phase: Phase
) -> None:
    stored = stored_as(rel)
    assert (stored.content_type, stored.cache_control, stored.phase) == (kind, cache, phase)


def test_a_site_over_the_pages_limit_is_pointed_at_deploy_and_the_readme(
    site, run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.setenv("MARGINALIA_PAGES_SIZE_LIMIT", "1000")
    root = site({"content/a.md": article("A")})
    result = run("build", "--root", root)
    assert result.status == 0
    assert result.err.strip().endswith(
        "Two ways out: a leaner site (large files elsewhere, `search: false`), or object "
        'storage with `python build.py deploy`; see README, "Hosting a large archive".'
    )
    assert "\n## Hosting a large archive\n" in (REPO / "README.md").read_text(encoding="utf-8")


def test_the_readme_workflow_passes_actionlint_and_zizmor_and_uses_pages_yml_pins(
    tmp_path: Path,
) -> None:
    """The workflow README's "Hosting a large archive" gives, as a user would save it."""
    import textwrap

    from test_publish import load_workflow
    from test_workflows import audit

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    start = readme.index("   # .github/workflows/bucket.yml\n")
    block = textwrap.dedent(readme[start : readme.index("   ```", start)])
    saved = tmp_path / ".github" / "workflows" / "bucket.yml"
    saved.parent.mkdir(parents=True)
    saved.write_text(block, encoding="utf-8")
    assert audit([saved]) == []

    pages = (REPO / ".github" / "workflows" / "pages.yml").read_text(encoding="utf-8")
    steps = load_workflow(saved)["jobs"]["deploy"]["steps"]
    for each in steps:
        assert "${{" not in each.get("run", ""), each["name"]
        if "uses" in each:
            assert f"uses: {each['uses']}" in pages, each["uses"]  # the same pinned SHA
    secret_steps = [each["name"] for each in steps if "secrets." in str(each.get("env", ""))]
    assert secret_steps == ["Publish to the bucket"]
    assert steps[-1]["run"] == "python build.py deploy"
