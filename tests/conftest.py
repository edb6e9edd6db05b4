"""Shared fixtures: the app in-process, real server processes, and a real Chromium."""

import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from chat.app import create_app
from chat.config import Settings
from chat.store import Store, open_store
from tests.servers import ChatServer, PostgresServer, RedisServer

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
IN_CI = os.environ.get("CI") == "true"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """With CI=true a skipped test is a failure: nothing may silently stop being tested."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, which counts as a failure: {report.longrepr}"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'chat.db'}")


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), base_url="http://testserver") as test_client:
        yield test_client


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChatServer]:
    """One real server shared by browser tests; each test uses rooms of its own."""
    fast = {"CHAT_RATE_PER_SECOND": "1000", "CHAT_RATE_BURST": "1000"}  # tests type quickly
    chat_server = ChatServer(tmp_path_factory.mktemp("server"), **fast).start()
    yield chat_server
    chat_server.stop()


def chromium_path() -> str | None:
    return os.environ.get("CHAT_TEST_CHROMIUM") or shutil.which("chromium") or None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium for one test module (Playwright's sync loop must not outlive it: async tests
    elsewhere run their own event loop on this thread)."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    executable = chromium_path()
    with playwright_api.sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        except playwright_api.Error as error:
            pytest.skip(f"no Chromium to drive (install Debian's chromium): {error}")
        yield launched
        launched.close()


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    browser_context = browser.new_context()
    browser_context.set_default_timeout(10_000)
    yield browser_context
    browser_context.close()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL server for the whole run."""
    try:
        server = PostgresServer().start()
    except (FileNotFoundError, subprocess.CalledProcessError) as error:
        pytest.skip(f"cannot start PostgreSQL: {error}")
    yield server
    server.stop()
    server.remove()


# Every store contract test runs on SQLite and on a real PostgreSQL.
@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'chat.db'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.url


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    opened = open_store(store_url)
    await opened.start()
    yield opened
    await opened.close()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A real Redis server for the whole run."""
    try:
        server = RedisServer().start()
    except FileNotFoundError as error:
        pytest.skip(str(error))
    yield server
    server.stop()
    server.remove()
