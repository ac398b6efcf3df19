"""The app served to a real headless Chromium (Debian's, driven by Playwright) from the test process.

One browser for the whole session; a fresh browser context (cookies, storage) per test. The server is
werkzeug's, in a thread on 127.0.0.1 and a free port, on the session's app and test database; each
request runs in its own app context as in production. CSRF protection is switched on while a browser
test runs, so every form the browser submits proves it carries its token.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="session")
def live_server(_app) -> Iterator[str]:
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, _app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/services.sh installs Debian's chromium")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def site(app, live_server):
    """The live server's base URL, with CSRF protection on for the test."""
    app.config["WTF_CSRF_ENABLED"] = True
    yield live_server
    app.config["WTF_CSRF_ENABLED"] = False


@pytest.fixture
def page(browser, site):
    context = browser.new_context(viewport=DESKTOP, base_url=site, locale="en-GB", timezone_id="UTC")
    context.set_default_timeout(10_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    # 4xx answers are part of the product (the 403 page, a preview of a half-written rule): Chromium
    # logs each as a console error, so those are left out; a 5xx answer is always a failure.
    tab.on(
        "console",
        lambda msg: (
            errors.append(msg.text)
            if msg.type == "error" and not msg.text.startswith("Failed to load resource")
            else None
        ),
    )
    tab.on("response", lambda r: errors.append(f"{r.status} from {r.url}") if r.status >= 500 else None)
    yield tab
    context.close()
    # A script error on any page is a broken page, whatever the assertions saw.
    assert not errors, f"JavaScript errors in the browser: {errors}"


def screenshot(tab, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    tab.screenshot(path=str(path), full_page=True)
    return path
