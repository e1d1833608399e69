"""Browser tests: Debian's Chromium through Playwright against the live server, SQLite only."""

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.conftest import ADMIN_PASSWORD, LiveServer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture
def database_url(tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """SQLite only: the browser tests exercise the UI, not the database."""
    path = tmp_path / "maskloop.db"
    shutil.copy(request.getfixturevalue("sqlite_template"), path)
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    return {**browser_context_args, "viewport": {"width": 1400, "height": 860}}


@pytest.fixture
def context(new_context: Callable[..., BrowserContext], live_server: LiveServer) -> BrowserContext:
    """A browser context whose base URL is this test's live server (pytest-base-url's `base_url`
    fixture is session-scoped, but the live server is made per test)."""
    return new_context(base_url=live_server.url)


@pytest.fixture
def errors(page: Page) -> Iterator[list[str]]:
    """Uncaught page errors; a test fails if any happened."""
    seen: list[str] = []
    page.on("pageerror", lambda exc: seen.append(str(exc)))
    yield seen
    assert not seen, f"errors in the page: {seen}"


@pytest.fixture
def shot(page: Page, request: pytest.FixtureRequest) -> Callable[[str], Path]:
    """Save a screenshot under test-artifacts/, named after the test."""
    ARTIFACTS.mkdir(exist_ok=True)

    def take(label: str = "") -> Path:
        path = ARTIFACTS / f"{request.node.name}{'-' + label if label else ''}.png"
        page.screenshot(path=str(path))
        return path

    return take


def sign_in(page: Page, username: str, password: str) -> Page:
    page.goto("/")
    page.get_by_test_id("login-username").fill(username)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("current-user")).to_contain_text(username)
    return page


@pytest.fixture
def logged_in(page: Page, live_server: LiveServer, errors: list[str]) -> Page:
    """The admin, signed in through the login form."""
    return sign_in(page, "admin", ADMIN_PASSWORD)
