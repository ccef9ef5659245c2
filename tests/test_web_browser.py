"""``geotarget serve`` as a shop owner uses it: headless Chromium types the venue and a budget,
submits, reads the verdict, ticks a platform layer on the map and downloads the report.  No
request may leave the server on 127.0.0.1 and no script may fail (the error hook and the network
log of ``test_browser.py``); a page with a broken script shows those checks can fail.  The phone
screenshot (420 px wide) goes to ``test-artifacts/``.

Chromium and chromedriver as in ``test_browser.py`` (skipped where absent, required under
``CI=true``).
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from test_browser import ARTIFACTS, WAIT_S, _drain_logs, assert_not_blank, browser  # noqa: F401
from test_web import start_server, stop_server

#: what the page shows, read in the browser
STATE_JS = """
var el = document.querySelector('.folium-map');
var m = el && window[el.id];
return {leaflet: typeof L !== 'undefined' && L.version,
        map: !!(m && m instanceof L.Map), loaded: !!(m && m._loaded),
        paths: document.querySelectorAll('.leaflet-overlay-pane path').length,
        errors: window.__geotarget_errors || []};
"""


def wait_for_map(d) -> dict:
    deadline = time.monotonic() + WAIT_S
    state: dict = {}
    while time.monotonic() < deadline:
        state = d.execute_script(STATE_JS)
        if state["loaded"] and state["paths"] > 0:
            return state
        time.sleep(0.1)
    raise AssertionError(f"the Leaflet map did not initialise: {state}")


def logs(d) -> tuple[list, list[str]]:
    """(console errors, URLs requested) since the last call."""
    console = [e for e in d.get_log("browser") if e.get("level") == "SEVERE"]
    urls = []
    for entry in d.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg.get("method") == "Network.requestWillBeSent":
            urls.append(msg["params"]["request"]["url"])
    return console, urls


def assert_clean(d, base: str) -> None:
    errors = d.execute_script("return window.__geotarget_errors || [];")
    console, urls = logs(d)
    assert errors == [], f"JavaScript errors: {errors}"
    assert console == [], f"console errors (a CSP violation is one): {console}"
    away = [u for u in urls if not u.startswith((base + "/", "data:", "blob:", "about:"))]
    assert away == [], f"requests that left {base}: {away}"


def submit_form(d, base: str, venue: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    _drain_logs(d)
    d.get(base + "/")
    box = d.find_element(By.ID, "venue")
    box.clear()
    box.send_keys(venue)
    r = d.find_element(By.ID, "radius")
    r.clear()
    r.send_keys("0.5mi")
    Select(d.find_element(By.ID, "currency")).select_by_value("GBP")
    b = d.find_element(By.ID, "budget")
    b.send_keys("500")
    b.send_keys(Keys.ENTER)  # keyboard-usable: Enter submits the form


def verdicts(d) -> list[str]:
    return d.execute_script(
        "return Array.prototype.map.call(document.querySelectorAll('.verdicts li'),"
        " function (l) { return l.innerText; });"
    )


DATA = [
    pytest.param("builtin", "EH1 1YZ", id="edinburgh-builtin"),
    pytest.param("london", "EC2Y 8BN", id="london-data-dir", marks=pytest.mark.shared_data),
]


@pytest.mark.parametrize("data, venue", DATA)
def test_page_in_chromium(browser, request, tmp_path, data, venue):  # noqa: F811
    from selenium.webdriver.common.by import By

    args = ["--data-dir", str(request.getfixturevalue("london_dir"))] if data == "london" else []
    proc, base = start_server(*args)
    try:
        browser.set_page_load_timeout(180)  # the answer is counted and drawn on the server
        browser.set_window_size(1280, 900)
        submit_form(browser, base, venue)
        deadline = time.monotonic() + 120  # the answer is counted and drawn on the server
        while time.monotonic() < deadline and not browser.find_elements(
            By.CSS_SELECTOR, ".verdicts li"
        ):
            time.sleep(0.2)
        said = verdicts(browser)
        assert said, "no verdict on the page"
        assert any("of £500" in s for s in said), said
        assert venue in browser.find_element(By.CSS_SELECTOR, ".geotarget-report h1").text
        before = wait_for_map(browser)["paths"]
        assert_clean(browser, base)
        # tick a platform layer (LinkedIn: a whole-city footprint): more shapes drawn, no error
        ticked = browser.execute_script("""
            var labels = document.querySelectorAll('.leaflet-control-layers-overlays label');
            for (var i = 0; i < labels.length; i++) {
              var p = labels[i].querySelector('[data-platform="linkedin"]');
              if (p) { labels[i].querySelector('input').click(); return true; }
            }
            return false;""")
        assert ticked
        assert browser.execute_script(STATE_JS)["paths"] > before
        # download the report: a real download into a folder of ours
        down = tmp_path / "downloads"
        down.mkdir()
        browser.execute_cdp_cmd(
            "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(down)}
        )
        browser.find_element(By.PARTIAL_LINK_TEXT, "Download the report").click()
        deadline = time.monotonic() + 120
        got: list[Path] = []
        while time.monotonic() < deadline:
            got = [p for p in down.iterdir() if p.suffix == ".html"]
            if got:
                break
            time.sleep(0.2)
        assert got, f"no report downloaded: {list(down.iterdir())}"
        report = got[0].read_text(encoding="utf-8")
        assert "<h2>In short</h2>" in report and "of £500" in report
        assert_clean(browser, base)
        phone(browser, base, f"web-phone-{data}.png")
    finally:
        stop_server(proc)


def phone(d, base: str, name: str) -> None:
    """The same page 420 px wide (a phone): nothing runs off the screen, the layer list starts
    folded and opens with its button, and the verdict is on the first screen."""
    d.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 420, "height": 900, "deviceScaleFactor": 1, "mobile": True},
    )
    try:
        _drain_logs(d)
        d.refresh()
        wait_for_map(d)
        assert_clean(d, base)
        deadline = time.monotonic() + 10  # the phone view is set once the page has loaded
        while time.monotonic() < deadline:
            zoom = d.execute_script(
                "var el = document.querySelector('.folium-map'); return window[el.id].getZoom();"
            )
            if zoom >= 13:
                break
            time.sleep(0.1)
        assert zoom >= 13, f"on a phone the map opens on the catchment (zoom {zoom})"
        sizes = d.execute_script("""
            var t = document.querySelector('table.platforms').getBoundingClientRect();
            var v = document.querySelector('.verdicts').getBoundingClientRect();
            return {page: document.documentElement.scrollWidth, table: t.right,
                    verdict_top: v.top + window.scrollY,
                    expanded: document.querySelectorAll('.leaflet-control-layers-expanded').length};
        """)
        assert sizes["page"] <= 420, f"the page runs off a 420 px screen: {sizes}"
        assert sizes["table"] <= 420, f"the platform table runs off the screen: {sizes}"
        assert sizes["expanded"] == 0, "the layer list should start folded on a phone"
        d.execute_script("document.querySelector('.leaflet-control-layers-toggle').click();")
        assert (
            d.execute_script(
                "return document.querySelectorAll('.leaflet-control-layers-expanded').length;"
            )
            == 1
        )
        d.execute_script("document.querySelector('.leaflet-control-layers-toggle').click();")
        assert (
            d.execute_script(
                "return document.querySelectorAll('.leaflet-control-layers-expanded').length;"
            )
            == 0
        ), "the layer list's button closes it again"
        legend = (
            "return document.querySelector('.geotarget-legend').getBoundingClientRect().height;"
        )
        folded = d.execute_script(legend)
        d.execute_script("document.querySelector('.geotarget-legend h4').click();")
        assert d.execute_script(legend) > folded + 50, "the legend opens from its title"
        d.execute_script("document.querySelector('.geotarget-legend h4').click();")
        # the answer as a shop owner first sees it: the top of the page, the verdicts on it
        d.execute_script("window.scrollTo(0, 0);")
        top = d.execute_script(
            "return document.querySelector('.verdicts li').getBoundingClientRect().top;"
        )
        assert top < 900 - 100, f"the first verdict is below the first screen ({top} px)"
        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / name
        d.save_screenshot(str(shot))
        assert_not_blank(shot)
        # the platforms as cards, then the map with its folded layer list
        d.execute_script("document.querySelector('table.platforms').scrollIntoView();")
        d.save_screenshot(str(shot.with_name(shot.stem + "-platforms.png")))
        d.execute_script("document.querySelector('.mapbox').scrollIntoView();")
        d.save_screenshot(str(shot.with_name(shot.stem + "-map.png")))
    finally:
        d.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


@pytest.fixture
def served_app():
    """The application in a thread of this process, with one extra page: the answer with a
    broken script and a request to another origin (its CSP lets both happen)."""
    import socket

    import uvicorn
    from starlette.routing import Route

    from geotarget.web import create_app
    from geotarget.web.app import html

    async def broken(request):
        page = (
            "<!DOCTYPE html><html><body><p>broken</p>"
            "<script>console.error('seen'); undefinedFunction();</script>"
            "<img src='http://127.0.0.2:9/x.png'></body></html>"
        )
        r = html(page)
        r.headers["Content-Security-Policy"] = r.headers["Content-Security-Policy"].replace(
            "img-src 'self'", "img-src *"
        )
        return r

    app = create_app()
    app.router.routes.append(Route("/broken", broken))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    deadline = time.monotonic() + 60
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    t.join(10)


def test_the_checks_can_fail(browser, served_app):  # noqa: F811
    base = served_app
    _drain_logs(browser)
    browser.get(base + "/broken")
    time.sleep(0.5)
    with pytest.raises(AssertionError, match="undefinedFunction"):
        assert_clean(browser, base)
    browser.get(base + "/broken")
    time.sleep(0.5)
    browser.execute_script("window.__geotarget_errors = [];")
    browser.get_log("browser")
    with pytest.raises(AssertionError, match=r"left http://127\.0\.0\.1.*127\.0\.0\.2:9/x\.png"):
        assert_clean(browser, base)
    # and a script the page's CSP does not allow is refused (and reported) by the browser
    _drain_logs(browser)
    browser.get(base + "/")
    browser.execute_script(
        "var s = document.createElement('script'); s.textContent = 'window.__ran = 1;';"
        "document.body.appendChild(s);"
    )
    time.sleep(0.3)
    assert browser.execute_script("return window.__ran || 0;") == 0
    console, _ = logs(browser)
    assert any("Content Security Policy" in e["message"] for e in console), console
