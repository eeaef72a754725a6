"""A GraphiQL link opened in headless Chromium: the operation is in the editor, the Headers tab
authenticates it, and the welcome text's instructions work as written.

Needs Node.js and npm (on the machine) and Debian's chromium: the setup installs chromium with
apt-get when it is missing, and playwright-core (pinned in package-lock.json here) with npm into
$TF_BROWSER_WORK (default /tmp/tf-browser-tests); the test fails when either cannot be had.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from tests.live_server import embedded_server

HERE = Path(__file__).resolve().parent
# Outside the repository (node_modules), shared by runs; like ../shared/conformance's work folder.
WORK = Path(os.environ.get("TF_BROWSER_WORK", "/tmp/tf-browser-tests"))  # noqa: S108
CHROMIUM = Path("/usr/bin/chromium")
SCRIPT = "graphiql_link.mjs"

pytestmark = pytest.mark.browser

QUERY = """query Who($first: Int) {
  viewer { role user { email } }
  workflows(first: $first) { totalCount }
}"""
VARIABLES = '{"first": 2}'
SIGN_UP = """
mutation($input: SignUpInput!) {
  signUp(input: $input) { ... on AuthPayload { accessToken } }
}
"""


def _install(command: list[str], **options: Any) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False, **options)
    if result.returncode != 0:
        pytest.fail(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")


@pytest.fixture(scope="session")
def browser_kit() -> Path:
    """The work folder with playwright-core and this test's script; chromium installed."""
    if not CHROMIUM.exists():
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        _install(["apt-get", "update", "-q"], env=env, timeout=600)
        _install(["apt-get", "install", "-y", "-q", "chromium"], env=env, timeout=1200)
    assert CHROMIUM.exists(), "Debian's chromium is needed at /usr/bin/chromium"
    WORK.mkdir(parents=True, exist_ok=True)
    lock = HERE / "package-lock.json"
    if (
        not (WORK / "node_modules" / "playwright-core").exists()
        or (WORK / "package-lock.json").read_bytes() != lock.read_bytes()
    ):
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(HERE / name, WORK / name)
        env = {**os.environ, "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1"}
        _install(["npm", "ci", "--no-audit", "--no-fund"], cwd=WORK, env=env, timeout=600)
    shutil.copyfile(HERE / SCRIPT, WORK / SCRIPT)
    return WORK


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`tenantflow serve` on the embedded default, GraphiQL on, on a free loopback port."""
    env = {"TENANTFLOW_EXECUTOR_WORKERS": "0"}
    with embedded_server(tmp_path_factory.mktemp("graphiql-link"), env) as url:
        yield url


def sign_up(graphql: str) -> str:
    variables = {
        "input": {
            "email": "link@example.test",
            "password": "a long enough password",
            "tenantName": "Link",
            "tenantSlug": "link",
        }
    }
    body = httpx.post(graphql, json={"query": SIGN_UP, "variables": variables}).json()
    token: str = body["data"]["signUp"]["accessToken"]
    return token


def test_a_graphiql_link_opens_its_operation_and_the_welcome_text_works_as_written(
    browser_kit: Path, live_server: str, tmp_path: Path
) -> None:
    # given an account, and a link to an operation with variables
    token = sign_up(live_server)
    parameters = {"query": QUERY, "variables": VARIABLES, "operationName": "Who"}
    link = f"{live_server}?{urlencode(parameters)}"
    shot = tmp_path / "graphiql-link.png"
    # when a browser opens it
    completed = subprocess.run(
        ["node", str(browser_kit / SCRIPT), link, token, str(shot)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        cwd=browser_kit,
    )
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    assert "error" not in report, report
    # then the editors hold the operation, as the screenshot shows
    assert report["query"] == QUERY
    assert report["variables"] == VARIABLES
    assert shot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert shot.stat().st_size > 10_000
    # and with the Headers tab set, it runs as the signed-in user
    assert '"email": "link@example.test"' in report["linkResult"]
    assert '"totalCount": 0' in report["linkResult"]
    assert parse_qs(urlsplit(report["linkUrl"]).query)["query"] == [QUERY]
    # and the page without a link says how to authenticate, HTTP and subscriptions alike
    welcome = report["welcome"]
    assert '{"Authorization": "Bearer <accessToken>"}' in welcome
    assert "Headers tab" in welcome
    assert "connection_init" in welcome
    # and its query runs as written with the headers kept from before
    assert json.loads(report["welcomeHeaders"]) == {"Authorization": f"Bearer {token}"}
    assert '"role": "OWNER"' in report["welcomeResult"]
    # and a subscription sends the Headers tab as its connection_init payload (whose
    # `Authorization` key the server matches in any case, as the contract says)
    inits = [json.loads(f) for f in report["framesSent"] if "connection_init" in f]
    assert inits[:1] == [
        {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
    ]
    # all of it from this server alone
    assert report["blocked"] == []
    assert report["pageErrors"] == []
