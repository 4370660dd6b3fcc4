"""index.html in a real browser (headless Chromium): loads cleanly, shows its figures, sorts on click,
opens with its answer (summary, heat map, then leaderboard) and fits a 1280-pixel window.

Where selenium, chromium or chromedriver is missing or the browser cannot start, the tests skip,
saying why, on a developer's machine; in CI (the ``CI`` environment variable set, as CI services
do: ``CI=true``) they fail instead, since ``.ci/run`` installs the browser and a test that skips
there would pass without ever having run.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

from benchmark.report import write_report
from tests.report_fixtures import LADDER, STANDARD, seeds, write_ladder, write_runs

try:
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
except ImportError:  # reported by the fixture: a skip on a developer's machine, a failure in CI
    webdriver = None

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1280,1000"]
WINDOW_WIDTH = 1280  # a laptop's browser window: the page must not scroll sideways in it
HOSTILE_TASK = "<img src=x onerror=\"document.title='pwned'\">"
HOSTILE_OBJECTIVE = "</script><script>document.title='pwned'</script>"


def in_ci() -> bool:
    """``CI`` is set to anything but an empty, 0, false or no value."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def browser_unavailable(reason: str):
    """Skip with ``reason`` on a developer's machine; fail with it in CI, where the browser must run."""
    if in_ci():
        pytest.fail(f"{reason}. CI={os.environ['CI']!r} is set, so the browser test must run, not skip: "
                    "install chromium and chromium-driver (.ci/run does, on Debian)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    if webdriver is None:
        browser_unavailable("selenium is not installed (pip install -e '.[test]')")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not chromium or not driver_path:
        browser_unavailable("no chromium and chromedriver on PATH (Debian: apt-get install chromium chromium-driver)")
    profile = tempfile.mkdtemp(prefix="objbench-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        driver = webdriver.Chrome(options=options, service=Service(driver_path))
    except WebDriverException as err:
        shutil.rmtree(profile, ignore_errors=True)
        browser_unavailable(f"headless chromium ({chromium}) did not start: {err.msg or err}")
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def open_report(browser, tmp_path, values, ladder=None) -> tuple:
    write_runs(tmp_path / "results", values)
    if ladder:
        write_ladder(tmp_path / "results", ladder)
    out = write_report(tmp_path / "results", "fixture", tmp_path / "reports")
    browser.set_window_size(WINDOW_WIDTH, 1000)
    browser.get((out / "index.html").resolve().as_uri())
    return out, browser.get_log("browser")


def page_width(browser) -> tuple[int, int]:
    """(how wide the page's content is, how wide the window shows it): equal unless the page scrolls sideways."""
    return tuple(browser.execute_script(
        "return [document.documentElement.scrollWidth, document.documentElement.clientWidth];"))


def top(browser, selector: str) -> int:
    return browser.find_element(By.CSS_SELECTOR, selector).location["y"]


def column(browser, table_id: str, index: int) -> list[str]:
    return [td.text for td in browser.find_elements(By.CSS_SELECTOR, f"#{table_id} tbody tr td:nth-child({index})")]


def header(browser, table_id: str, text: str):
    for th in browser.find_elements(By.CSS_SELECTOR, f"#{table_id} thead th"):
        if th.text.strip().rstrip("▲▼ ").strip() == text:
            return th
    raise AssertionError(f"no header {text!r} in #{table_id}")


@pytest.mark.slow  # a real browser
def test_page_loads_clean_with_figures_and_sorts(browser, tmp_path):
    out, log = open_report(browser, tmp_path, STANDARD)
    assert [e for e in log if e["level"] == "SEVERE"] == [], log
    assert browser.title == "objbench leaderboard: fixture"

    images = browser.find_elements(By.CSS_SELECTOR, "figure img")
    assert len(images) == len(list((out / "figures").glob("*.png"))) == 6  # the attention figure too
    for image in images:
        assert browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", image) > 0

    assert column(browser, "leaderboard", 2) == ["mlm", "clm", "none"]  # best first: by mean rank
    sentiment = header(browser, "leaderboard", "sentiment: f1_macro")
    sentiment.click()
    assert column(browser, "leaderboard", 2) == ["none", "clm", "mlm"]  # 0.51 < 0.61 < 0.71
    assert sentiment.get_attribute("aria-sort") == "ascending"
    sentiment.click()
    assert column(browser, "leaderboard", 2) == ["mlm", "clm", "none"]
    assert sentiment.get_attribute("aria-sort") == "descending"
    header(browser, "leaderboard", "objective").click()
    assert column(browser, "leaderboard", 2) == ["clm", "mlm", "none"]

    header(browser, "details", "mean").click()  # numbers sort as numbers in every table
    means = [float(x) for x in column(browser, "details", 5)]
    assert means == sorted(means) and len(means) == 6
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []


def test_hostile_names_do_not_change_the_page(browser, tmp_path):
    _, log = open_report(browser, tmp_path, {"mlm": {HOSTILE_TASK: seeds(0.8, 0.81)},
                                             HOSTILE_OBJECTIVE: {HOSTILE_TASK: seeds(0.6, 0.7)}})
    assert browser.title == "objbench leaderboard: fixture"  # no injected script ran
    assert [e for e in log if e["level"] == "SEVERE"] == [], log
    assert len(browser.find_elements(By.CSS_SELECTOR, "script")) == 2
    images = browser.find_elements(By.CSS_SELECTOR, "img")
    assert len(images) == len(browser.find_elements(By.CSS_SELECTOR, "figure img"))  # no injected <img>
    assert HOSTILE_OBJECTIVE in column(browser, "leaderboard", 2)  # shown as text, literally
    assert HOSTILE_TASK in column(browser, "details", 3)


# Many objectives on tasks with long names: a leaderboard far wider than the window.
WIDE = {objective: {f"synthetic_entity_typing_variant_{i}": seeds(base + 0.01 * i, base + 0.02 + 0.01 * i)
                    for i in range(6)}
        for objective, base in (("none", 0.3), ("clm", 0.6), ("mlm", 0.55), ("electra", 0.5),
                                ("span_corruption", 0.45), ("prefix_lm", 0.58))}


@pytest.mark.slow  # a real browser
def test_page_leads_with_its_answer_and_fits_the_window(browser, tmp_path):
    _, log = open_report(browser, tmp_path, WIDE, ladder=LADDER)
    assert [e for e in log if e["level"] == "SEVERE"] == [], log
    summary = browser.find_element(By.CSS_SELECTOR, "#summary p").text
    assert summary.startswith("Best mean at ") and "better than no pretraining" in summary
    heatmap = browser.find_element(By.CSS_SELECTOR, "#heatmap figure img")
    assert browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", heatmap) > 0
    # reading order: the summary, then the heat map, then the leaderboard, then the notices
    assert top(browser, "#summary p") < top(browser, "#heatmap img") < top(browser, "table#leaderboard")
    notices = browser.find_elements(By.CSS_SELECTOR, "details.note")
    assert notices and top(browser, "table#leaderboard") < notices[0].location["y"]
    assert top(browser, "#compute img") > top(browser, "table#leaderboard")  # the ladder's curves, further down
    assert column(browser, "crossovers", 2)  # and the crossover table beside them

    assert browser.execute_script("return window.innerWidth") == WINDOW_WIDTH
    content, shown = page_width(browser)
    assert content <= shown <= WINDOW_WIDTH, (content, shown)
    table = browser.find_element(By.ID, "leaderboard")
    box = browser.execute_script("return arguments[0].parentElement", table)
    wide = browser.execute_script("return [arguments[0].scrollWidth, arguments[0].clientWidth]", box)
    assert wide[0] > wide[1]  # the table is wider than the window: it scrolls inside its own box, not the page

    details = notices[0]
    assert not details.get_attribute("open")  # the details of a notice wait for a click
    details.find_element(By.TAG_NAME, "summary").click()
    assert details.get_attribute("open") is not None
