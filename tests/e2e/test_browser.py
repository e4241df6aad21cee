"""A real browser: Debian's Chromium driven by Playwright opens the app, clicks Generate and sees the grid.

Set GENZOO_SCREENSHOT=path.png to keep the screenshot (the README's picture is made this way).
"""

import os
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="apt-get install chromium (make test does)")]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


def test_generate_in_a_real_browser(app_url, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True, args=ARGS,
            viewport={"width": 1280, "height": 1100})
        try:
            page = browser.new_page()
            page.goto(app_url, wait_until="networkidle", timeout=60_000)
            expect(page.get_by_role("tab", name="DCGAN")).to_be_visible()
            page.get_by_role("button", name="Generate", exact=True).click()
            image = page.locator("#dcgan-grid img")
            expect(image).to_be_visible(timeout=60_000)
            # The image really decoded: a non-zero natural size, as served by the app.
            width = image.evaluate("img => img.complete ? img.naturalWidth : 0")
            assert width == (8 * 34 + 2) * 4
            shot = Path(os.environ.get("GENZOO_SCREENSHOT") or tmp_path / "app.png")
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000
        finally:
            browser.close()
