"""report.html in a real headless browser (Debian's chromium, driven by selenium through
chromedriver), opened as a file with the network cut off: it renders (title, counts, no script
error), every embedded plot loads, and the filters (verdict, paper, area, the search box) and the
sort change which cards are shown and in what order.

Skipped, saying why, where chromium, chromedriver or selenium is missing; CI (.ci/run) installs
Debian's chromium and chromium-driver. The page is the one tests/test_html_report.py checks as
text: the same hand-made records, with real (small) matplotlib plots."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from scaling_claims.verdicts.html_report import render_report_html
from test_html_report import records, tiny_png

INSTALL = "Debian's chromium and chromium-driver are not installed: apt-get install -y chromium chromium-driver"
KAPLAN = "Kaplan's laws: L(N), L(D), shape"
ODD = "c<odd>&[x=1]"
CLAIMS = ["c-changed", "c-error", "c-known", "c-regime", ODD, "k-law"]  # the paper claims, by id
ALL = {*CLAIMS, "k-alpha", "s-identity"}


def _find(*names: str) -> str | None:
    for name in names:
        path = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").is_file() else None)
        if path:
            return path
    return None


@pytest.fixture(scope="module")
def browser():
    chromium, driver_path = _find("chromium", "chromium-browser"), _find("chromedriver")
    if not chromium or not driver_path:
        pytest.skip(INSTALL)
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed: pip install -e '.[dev]'")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,1000", "--no-first-run", "--disable-extensions",
                # no network: every host name fails to resolve, and no proxy is tried
                "--host-resolver-rules=MAP * ~NOTFOUND", "--no-proxy-server"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # a path to the driver: Selenium Manager (which would download one) is never run
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def url(tmp_path_factory) -> str:
    art = tmp_path_factory.mktemp("artifacts")
    png = tiny_png(art / "k-law" / "plot.png")
    (art / "c-regime").mkdir()
    (art / "c-regime" / "plot.png").write_bytes(png)
    page = art / "report.html"
    page.write_text(render_report_html(records(art), art), encoding="utf-8")
    return page.as_uri()


@pytest.fixture
def driver(browser, url):
    browser.get(url)  # a fresh page for every test
    browser.get_log("browser")  # drop what earlier pages logged
    return browser


def shown(driver, section: str | None = None) -> list[str]:
    """The ids of the cards the browser displays, in page order (of one section, or all)."""
    css = f"section#{section} article.record" if section else "article.record"
    return [card.get_attribute("data-id") for card in driver.find_elements("css selector", css) if card.is_displayed()]


def shown_line(driver) -> str:
    return driver.find_element("id", "shown").text


def after_reset(driver, got, want) -> None:
    """``got(driver)`` settles to ``want`` (the page re-applies its filters just after a reset, once
    the form's values are back)."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        WebDriverWait(driver, 5, poll_frequency=0.05).until(lambda d: got(d) == want)
    except TimeoutException:
        assert got(driver) == want


def choose(driver, name: str, value: str) -> None:
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element("name", name)).select_by_value(value)


def test_renders(driver):
    assert driver.title == "Scaling claims: report"
    counts = driver.find_element("css selector", ".counts").text
    assert "6 paper claims: 2 confirmed, 1 refuted (outside the paper's regime), 3 inconclusive" in counts
    assert "1 comparison with a paper's own constants (no verdict)" in counts
    assert driver.find_element("tag name", "h1").text == "Scaling claims: report"
    # the script ran (it rewrote the counts of what is shown) and every card is shown
    assert shown_line(driver) == "Showing 8 of 8 records: 3 confirmed, 1 refuted, 3 inconclusive, 1 no verdict."
    assert set(shown(driver)) == ALL and shown(driver, "claim") == CLAIMS
    # the record text that looks like markup is shown as text, and injected nothing
    assert len(driver.find_elements("tag name", "script")) == 1
    errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []
    # nothing but the page itself was fetched (the plots are data: URIs)
    fetched = driver.execute_script(
        "return performance.getEntriesByType('resource').map(function (r) { return r.name; })")
    assert [name for name in fetched if not name.startswith("data:")] == []


def test_every_plot_loads(driver):
    plots = driver.execute_script("""
        return Array.prototype.map.call(document.images, function (img) {
          return [img.alt, img.complete, img.naturalWidth, img.naturalHeight];
        });""")
    assert sorted(p[0] for p in plots) == ["plot of c-regime", "plot of k-law"]
    for alt, complete, width, height in plots:
        assert complete and width > 0 and height > 0, alt
    # a click enlarges a plot, a second one puts it back
    img = driver.find_element("css selector", "img.plot")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", img)
    img.click()
    assert "big" in img.get_attribute("class").split()
    img.click()
    assert "big" not in img.get_attribute("class").split()


def test_verdict_filter_shows_only_refuted(driver):
    for verdict in ("confirmed", "inconclusive", "no verdict"):
        driver.find_element("css selector", f'input[name=verdict][value="{verdict}"]').click()
    assert shown(driver) == ["c-regime"]
    assert shown_line(driver) == "Showing 1 of 8 records: 0 confirmed, 1 refuted, 0 inconclusive, 0 no verdict."
    # a section left with no card is hidden; the paper claims' section says how many it shows
    assert [s.get_attribute("id") for s in driver.find_elements("css selector", "section.records")
            if s.is_displayed()] == ["claim"]
    assert driver.find_element("css selector", "section#claim .shown").text == "1 shown"
    # the "only" flags narrow further; "show all" resets every filter
    driver.find_element("css selector", "input[name=only][value=failed]").click()
    assert shown(driver) == []
    driver.find_element("css selector", "button[type=reset]").click()
    after_reset(driver, lambda d: set(shown(d)), ALL)


def test_paper_and_area_filters(driver):
    choose(driver, "paper", "Kaplan et al. 2020")  # cited by k-law and k-alpha, and by c-changed among others
    assert set(shown(driver)) == {"k-law", "k-alpha", "c-changed"}
    choose(driver, "area", KAPLAN)  # both at once: Kaplan's paper within Kaplan's headline
    assert set(shown(driver)) == {"k-law", "k-alpha"}
    choose(driver, "paper", "")
    choose(driver, "area", "grokking")  # the area of a claim with no headline: its claim file
    assert shown(driver) == ["c-regime"]
    assert shown_line(driver).startswith("Showing 1 of 8 records")
    choose(driver, "area", "other")
    assert set(shown(driver)) == {"c-error", "c-known", ODD, "s-identity"}
    driver.find_element("css selector", 'input[name=kind][value="sanity"]').click()  # with the kind filter
    assert set(shown(driver)) == {"c-error", "c-known", ODD}


@pytest.mark.parametrize("by, order", [
    ("verdict", [ODD, "k-law", "c-regime", "c-changed", "c-error", "c-known"]),  # then by id
    ("paper", ["k-law", "c-changed", "c-regime", "c-error", "c-known", ODD]),  # no paper last
    ("area", ["c-changed", "c-regime", "k-law", "c-error", "c-known", ODD]),  # double descent, grokking, Kaplan, other
])
def test_sort(driver, by, order):
    choose(driver, "sort", by)
    assert shown(driver, "claim") == order
    choose(driver, "sort", "id")  # back to the page's own order
    assert shown(driver, "claim") == CLAIMS
    choose(driver, "sort", by)
    driver.find_element("css selector", "button[type=reset]").click()  # reset sorts by id again
    after_reset(driver, lambda d: shown(d, "claim"), CLAIMS)


def test_search_box(driver):
    box = driver.find_element("name", "q")
    box.send_keys("WebText2")  # in k-alpha's reason for having no verdict; case does not matter
    assert shown(driver) == ["k-alpha"]
    box.clear()
    box.send_keys("1000x smaller")  # c-regime's regime note
    assert shown(driver) == ["c-regime"]
    box.clear()
    box.send_keys("grokking")  # the area is searched too
    assert shown(driver) == ["c-regime"]
    box.clear()
    box.send_keys("no such text anywhere")
    assert shown(driver) == [] and shown_line(driver).startswith("Showing 0 of 8 records")
    box.clear()
    box.send_keys(" ")  # blank: everything again (clear() alone fires no input event)
    assert set(shown(driver)) == ALL
