"""Pytest plugin: Playwright (sync API) driving Debian's chromium against the live server.

Fixtures: `browser` (one chromium per test module), `page` and `mobile_page` (a fresh context per
test, zh-CN, base_url = the live server), `new_page` (further contexts), `live_url`,
`login_as(page, user, password)` and `screenshot(page, name)` (PNGs under
test-artifacts/screenshots/, gitignored).

Nothing is downloaded: the chromium binary comes from the system (XINAN_CHROMIUM or
/usr/bin/chromium). Without it, or without the playwright package, browser tests skip with a
clear message, and the root conftest turns such skips into failures under CI.
"""

import importlib
import importlib.util
import os
import re
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in the test thread; Django would otherwise refuse
# ORM calls from the test body ("You cannot call this from an async context").
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "Passw0rd-test"  # noqa: S105 — what xinan.testing.factories gives every user
TIMEOUT_MS = 10_000


def chromium_path() -> str:
    return os.environ.get("XINAN_CHROMIUM", "/usr/bin/chromium")


# One Playwright and one chromium per test module, not per session: a sync Playwright keeps its
# event loop marked as running in this thread, so while ours lives, a module that drives its own
# `sync_playwright()` (xinan/crisis/tests/test_browser.py) would fail to start. Modules stay
# contiguous after pytest-django's reordering, so this costs one launch (~0.5s) per module.
@pytest.fixture(scope="module")
def _playwright():
    if importlib.util.find_spec("playwright") is None:
        pytest.skip("playwright is not installed: pip install -e '.[dev]'")
    from playwright.sync_api import sync_playwright

    manager = sync_playwright().start()
    yield manager
    manager.stop()


@pytest.fixture(scope="module")
def browser(_playwright):
    executable = chromium_path()
    if not os.access(executable, os.X_OK):
        pytest.skip(
            f"no chromium at {executable}: apt-get install chromium fonts-noto-cjk "
            "(or set XINAN_CHROMIUM)"
        )
    instance = _playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
    yield instance
    instance.close()


@pytest.fixture
def _reseed(transactional_db):
    """Transactional tests flush what data migrations seeded: put the population tags back."""
    from django.apps import apps

    module = importlib.import_module("xinan.people.migrations.0002_population_tags")
    module.add_tags(apps, None)


@pytest.fixture
def live_url(live_server, transactional_db, _reseed) -> str:
    return live_server.url


def _context(browser, live_url, **options):
    context = browser.new_context(base_url=live_url, locale="zh-CN", **options)
    context.set_default_timeout(TIMEOUT_MS)
    # JavaScript errors and console errors (a CSP refusal, a 404 for a script or stylesheet)
    # break pages silently: collect them, and fail the test that met them.
    errors = context.xinan_errors = []

    def on_console(msg):
        # Failed loads are judged by on_response: a test may open a page that 404s on purpose.
        if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
            errors.append(f"console: {msg.text}")

    def on_response(response):
        if response.status >= 400 and response.request.resource_type != "document":
            errors.append(
                f"{response.status} for a {response.request.resource_type}: {response.url}"
            )

    context.on("console", on_console)
    context.on("response", on_response)
    context.on("weberror", lambda err: errors.append(f"javascript: {err.error}"))
    return context


def _close(request, context):
    errors = context.xinan_errors
    context.close()
    if errors and not request.node.get_closest_marker("console_errors_expected"):
        pytest.fail("the browser reported errors:\n" + "\n".join(errors), pytrace=False)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "console_errors_expected: the test provokes browser console errors on purpose"
    )


@pytest.fixture
def page(request, browser, live_url):
    context = _context(browser, live_url, viewport={"width": 1280, "height": 900})
    yield context.new_page()
    _close(request, context)


@pytest.fixture
def mobile_page(request, browser, live_url):
    context = _context(
        browser,
        live_url,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    )
    yield context.new_page()
    _close(request, context)


@pytest.fixture
def new_page(request, browser, live_url):
    """new_page(**context_options) → a page in a further context (a second user, say)."""
    contexts = []

    def make(**options):
        options.setdefault("viewport", {"width": 1280, "height": 900})
        context = _context(browser, live_url, **options)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        _close(request, context)


def login(page, user, password: str = PASSWORD, *, expect_success: bool = True):
    """Sign in through the real login form; `user` is a User or a username/phone string."""
    username = user if isinstance(user, str) else user.username
    page.goto("/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    if expect_success:
        assert "/accounts/login/" not in page.url, _errors(page)
    return page


def _errors(page) -> str:
    return " ".join(page.locator(".errorlist").all_inner_texts()) or page.url


@pytest.fixture
def login_as():
    return login


def _slug(text: str) -> str:
    return re.sub(r"[^\w.-]+", "_", text).strip("_")


def _artifact_dir(config) -> Path:
    directory = Path(config.rootpath) / "test-artifacts" / "screenshots"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@pytest.fixture
def screenshot(request):
    """screenshot(page, name) → the PNG's path, full page, named after the test and `name`."""
    directory = _artifact_dir(request.config)
    test = _slug(request.node.name)

    def take(page, name: str) -> Path:
        path = directory / f"{test}--{_slug(name)}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
