"""A real browser: Debian's Chromium driven by Playwright opens the app, clicks Generate and sees the grid; a Korean
browser sees the Korean UI, and Settings -> Language switches an English one to Korean.

Set GENZOO_SCREENSHOT=path.png to keep the screenshot (the README's picture is made this way).
"""

import os
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="apt-get install chromium (make test does)")]
EXPECT_TIMEOUT_MS = 30_000  # a loaded 2-core machine can take seconds to render the first tab (playwright's default: 5)
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


def test_generate_in_a_real_browser(app_url, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)

    with sync_playwright() as p:
        browser = p.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True, args=ARGS, locale="en-US",
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


def tab_names(language: str) -> list[str]:
    import demos
    from demos import i18n

    return [i18n.text(i18n.tab_label(tab).key, language) for tab in demos.TABS]


@pytest.mark.parametrize("locale, language, other", [("ko-KR", "ko", "en"), ("en-US", "en", "ko")])
def test_the_ui_follows_the_browser_language(app_url, locale, language, other):
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)

    from demos import dcgan, objectives

    names, others = tab_names(language), [n for n in tab_names(other) if n not in tab_names(language)]
    assert len(others) >= 4  # most tab names differ between the languages, so this test can tell them apart
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            # 1440 px: eleven tabs fit on one row in both languages (narrower, gradio folds the last ones into a "..." menu)
            page = browser.new_context(locale=locale, viewport={"width": 1440, "height": 1100}).new_page()
            page.goto(app_url, wait_until="networkidle", timeout=60_000)
            for name in names:
                expect(page.get_by_role("tab", name=name, exact=True)).to_be_visible()
            for name in others:
                expect(page.get_by_role("tab", name=name, exact=True)).to_have_count(0)
            expect(page.get_by_role("button", name=dcgan.t.text("generate", language), exact=True)).to_be_visible()
            expect(page.get_by_text(dcgan.t.text("numbered", language), exact=True)).to_be_visible()
            assert "__i18n__" not in page.inner_text("body")  # no key reached the page untranslated
            if language == "en":  # the switch by the header translates every tab, opened or not, and is remembered
                page.locator("#genzoo-language").get_by_text("한국어", exact=True).click()
                for name in tab_names("ko"):
                    expect(page.get_by_role("tab", name=name, exact=True)).to_be_visible()
                expect(page.get_by_role("button", name=dcgan.t.text("generate", "ko"), exact=True)).to_be_visible()
                page.get_by_role("tab", name=tab_names("ko")[1], exact=True).click()  # opened after the switch
                expect(page.get_by_role("tab", name=objectives.t.text("tab_metrics", "ko"), exact=True)).to_be_visible()
                page.reload(wait_until="networkidle")
                expect(page.get_by_role("tab", name=tab_names("ko")[-1], exact=True)).to_be_visible()
                page.locator("#genzoo-language").get_by_text("English", exact=True).click()
                for name in tab_names("en"):
                    expect(page.get_by_role("tab", name=name, exact=True)).to_be_visible()
        finally:
            browser.close()
