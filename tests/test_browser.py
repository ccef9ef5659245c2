"""The map and the report as a user sees them: opened in headless Chromium.

Needs Debian's ``chromium`` and ``chromium-driver`` (``apt-get install -y chromium
chromium-driver``) and selenium.  Where they are absent the tests are skipped with the reason --
except under ``CI=true``, where their absence is a failure.  Pages are written with
``tiles="none"``, so no network request may happen at all (checked from Chromium's own network
log).  Screenshots go to ``test-artifacts/`` (git-ignored).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from test_maps import PLATFORMS

import geotarget
from geotarget.render import report, webmap

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
DRIVER_NAMES = ("chromedriver",)
#: a test page may take this long to draw its map
WAIT_S = 20

#: installed before any page script runs: records uncaught errors and console.error calls
ERROR_HOOK = """
window.__geotarget_errors = [];
window.addEventListener('error', function (e) {
  window.__geotarget_errors.push('error: ' + (e.message || e.type) + ' at ' +
                                 (e.filename || '') + ':' + (e.lineno || ''));
}, true);
window.addEventListener('unhandledrejection', function (e) {
  window.__geotarget_errors.push('unhandled rejection: ' + String(e.reason));
});
(function () {
  var orig = console.error;
  console.error = function () {
    window.__geotarget_errors.push('console.error: ' +
      Array.prototype.map.call(arguments, String).join(' '));
    return orig.apply(console, arguments);
  };
})();
"""


def _unavailable(msg: str):
    if os.environ.get("CI") == "true":
        pytest.fail(
            msg + " -- required under CI=true (.ci/run installs chromium and "
            "chromium-driver with apt-get)"
        )
    pytest.skip(msg)


def _find(names) -> str | None:
    for n in names:
        p = shutil.which(n)
        if p:
            return p
    return None


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _unavailable("selenium is not installed (pip install '.[test]')")
    chromium, driver = _find(CHROMIUM_NAMES), _find(DRIVER_NAMES)
    if chromium is None or driver is None:
        _unavailable(
            "headless Chromium not found: install Debian's chromium and "
            "chromium-driver (apt-get install -y chromium chromium-driver)"
        )
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    profile = tmp_path_factory.mktemp("chromium-profile")
    for a in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        f"--user-data-dir={profile}",
        "--window-size=1280,900",
        "--hide-scrollbars",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-extensions",
    ):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    try:
        d = webdriver.Chrome(service=Service(executable_path=driver), options=opts)
    except Exception as e:  # noqa: BLE001 -- a browser that does not start is "absent" here
        _unavailable(
            f"headless Chromium ({chromium}, {driver}) did not start: "
            f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        )
    d.set_page_load_timeout(WAIT_S)
    d.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": ERROR_HOOK})
    yield d
    d.quit()


@pytest.fixture(scope="module")
def edinburgh():
    return geotarget.analyse("EH1 1YZ", "0.5mi", platforms=PLATFORMS, budget=500, currency="GBP")


def _drain_logs(d) -> None:
    d.get_log("browser")
    d.get_log("performance")


def open_page(d, path: Path) -> dict:
    """Load ``path``, wait for the Leaflet map, and return what the page shows."""
    _drain_logs(d)
    d.get(path.as_uri())
    deadline = time.monotonic() + WAIT_S
    state = None
    while time.monotonic() < deadline:
        state = d.execute_script("""
            var el = document.querySelector('.folium-map');
            var m = el && window[el.id];
            return {leaflet: typeof L !== 'undefined' && L.version,
                    map: !!(m && m instanceof L.Map), loaded: !!(m && m._loaded),
                    paths: document.querySelectorAll('.leaflet-overlay-pane path').length};
        """)
        if state["loaded"] and state["paths"] > 0:
            break
        time.sleep(0.1)
    assert state and state["leaflet"] == "1.9.4", f"Leaflet did not load: {state}"
    assert state["map"] and state["loaded"], f"the Leaflet map did not initialise: {state}"
    info = d.execute_script("""
        var el = document.querySelector('.folium-map'), m = window[el.id];
        var labels = Array.prototype.map.call(
            document.querySelectorAll('.leaflet-control-layers-overlays label'),
            function (l) { var p = l.querySelector('[data-platform]');
                           return {text: l.textContent.trim(),
                                   platform: p ? p.getAttribute('data-platform') : null,
                                   checked: l.querySelector('input').checked}; });
        var legend = document.querySelector('.geotarget-legend');
        var r = legend ? legend.getBoundingClientRect() : null;
        return {labels: labels, errors: window.__geotarget_errors || [],
                legend: legend ? legend.textContent : null,
                legend_visible: !!(r && r.width > 50 && r.height > 50),
                zoom: m.getZoom(), centre: [m.getCenter().lat, m.getCenter().lng],
                tiles: document.querySelectorAll('.leaflet-tile').length};
    """)
    info["console"] = [e for e in d.get_log("browser") if e.get("level") == "SEVERE"]
    requests = []
    for entry in d.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg.get("method") == "Network.requestWillBeSent":
            requests.append(msg["params"]["request"]["url"])
    info["requests"] = requests
    return info


def count_paths(d) -> int:
    return d.execute_script(
        "return document.querySelectorAll('.leaflet-overlay-pane path').length;"
    )


def screenshot(d, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    out = ARTIFACTS / name
    d.save_screenshot(str(out))
    return out


def assert_not_blank(png: Path) -> None:
    from PIL import Image

    a = np.asarray(Image.open(io.BytesIO(png.read_bytes())).convert("RGB"))
    assert a.shape[0] > 300 and a.shape[1] > 300
    assert len(np.unique(a.reshape(-1, 3), axis=0)) > 100, f"{png} looks blank"


def assert_clean(info: dict) -> None:
    assert info["errors"] == [], f"JavaScript errors: {info['errors']}"
    assert info["console"] == [], f"console errors: {info['console']}"
    remote = [u for u in info["requests"] if not u.startswith(("file:", "data:", "about:"))]
    assert remote == [], f"network requests with tiles='none': {remote}"


def assert_platform_layers(info: dict, result) -> None:
    drawn = [r["id"] for r in result.platform_rows if r.get("footprint")]
    shown = [lab["platform"] for lab in info["labels"] if lab["platform"]]
    assert shown == drawn, "one layer per platform with a footprint, best first"
    assert [
        lab["platform"] for lab in info["labels"] if lab["checked"] and lab["platform"]
    ] == drawn[:1], "the best platform's layer is shown at first"
    assert info["legend_visible"], "the legend is not visible"
    assert "Wasted area" in info["legend"] and "Your catchment" in info["legend"]


def test_map_in_chromium(browser, edinburgh, tmp_path):
    page = webmap.save_html(webmap.interactive_map(edinburgh, tiles="none"), tmp_path / "map.html")
    info = open_page(browser, page)
    assert_clean(info)
    assert_platform_layers(info, edinburgh)
    assert info["tiles"] == 0
    assert abs(info["centre"][0] - edinburgh.venue["lat"]) < 0.02
    assert 12 <= info["zoom"] <= 17, "the map opens on the catchment"
    shot = screenshot(browser, "map-edinburgh.png")  # as it opens
    assert_not_blank(shot)
    before = count_paths(browser)
    # tick the next platform (a city-wide footprint): more shapes are drawn, no error
    browser.execute_script("""
        var labels = document.querySelectorAll('.leaflet-control-layers-overlays label');
        for (var i = 0; i < labels.length; i++) {
          var p = labels[i].querySelector('[data-platform="linkedin"]');
          if (p) { labels[i].querySelector('input').click(); }
        }""")
    assert count_paths(browser) > before
    # a popup opens with the platform's figures
    browser.execute_script("""
        var el = document.querySelector('.folium-map'), m = window[el.id];
        m.eachLayer(function (l) { if (l.getPopup && l.getPopup() && !m._popup &&
                                       l.feature) { l.openPopup(); } });""")
    popup = browser.execute_script(
        "var p = document.querySelector('.leaflet-popup-content');return p ? p.textContent : null;"
    )
    assert popup and "Share inside" in popup and "Wasted" in popup
    assert browser.execute_script("return window.__geotarget_errors;") == []


def test_errors_and_requests_would_be_caught(browser, tmp_path):
    """The checks above can fail: a page that throws, logs an error and asks the network."""
    page = tmp_path / "broken.html"
    html = webmap.render_html(
        webmap.interactive_map(geotarget.analyse("EH1 1YZ", "300m"), tiles="none")
    )
    page.write_text(
        html.replace(
            "</html>",
            "<script>console.error('seen'); "
            "undefinedFunction();</script>"
            "<img src='http://127.0.0.1:9/x.png'></html>",
        ),
        encoding="utf-8",
    )
    info = open_page(browser, page)
    assert any("undefinedFunction" in e for e in info["errors"])
    assert any("seen" in e for e in info["errors"])
    assert "http://127.0.0.1:9/x.png" in info["requests"]


def test_report_in_chromium(browser, edinburgh, tmp_path):
    page = report.write_report(edinburgh, tmp_path / "report.html", tiles="none")
    info = open_page(browser, page)
    assert_clean(info)
    assert_platform_layers(info, edinburgh)
    words = browser.execute_script("return document.body.innerText;")
    assert words.index("In short") < words.index("Platforms, best first") < words.index("Map")
    rows = browser.execute_script(
        "return document.querySelectorAll('table.platforms tbody tr').length;"
    )
    assert rows == len(edinburgh.platform_rows)
    box = browser.execute_script(
        "var r = document.querySelector('.folium-map')"
        ".getBoundingClientRect(); return [r.width, r.height];"
    )
    assert box[0] > 600 and box[1] > 400, f"the map in the report is {box}"
    height = browser.execute_script("return document.body.scrollHeight;")
    browser.set_window_size(1280, min(height + 40, 4000))
    shot = screenshot(browser, "report-edinburgh.png")
    browser.set_window_size(1280, 900)
    assert_not_blank(shot)


@pytest.mark.shared_data
def test_london_map_in_chromium(browser, london, tmp_path):
    result = geotarget.analyse(
        "51.5202,-0.0937", "0.5mi", layer=london, platforms="all", budget=500, currency="GBP"
    )
    page = webmap.save_html(webmap.interactive_map(result, tiles="none"), tmp_path / "map.html")
    info = open_page(browser, page)
    assert_clean(info)
    assert_platform_layers(info, result)
    assert_not_blank(screenshot(browser, "map-london.png"))


HOSTILE = (
    "<img src=x onerror=\"window.__pwned='img'\">"
    "<script>window.__pwned='script'</script>\u202eevil\x1b[31m"
)


def test_script_in_label_and_attribution_does_not_run(browser, tmp_path):
    """A venue label (an OpenStreetMap name) and --tiles-attribution holding markup reach the
    report's <title>, the map's permanent tooltip and the attribution as text: nothing runs
    (issue 17)."""
    from geotarget.venue import Venue

    r = geotarget.analyse(Venue(55.9533, -3.1883, label=HOSTILE), "300m")
    attribution = "<img src=y onerror=\"window.__pwned='attribution'\">Tiles"
    for name, kw in (
        ("map", {"tiles": "http://127.0.0.1:9/{z}/{x}/{y}.png", "attribution": attribution}),
        ("report", {"tiles": "none"}),
    ):
        page = tmp_path / f"{name}.html"
        if name == "map":
            page.write_text(webmap.render_html(webmap.interactive_map(r, **kw)), encoding="utf-8")
        else:
            report.write_report(r, page, **kw)
        info = open_page(browser, page)
        seen = browser.execute_script(
            "return {pwned: window.__pwned || null, title: document.title,"
            " tooltip: Array.prototype.map.call(document.querySelectorAll('.leaflet-tooltip'),"
            " function (t) { return t.textContent; }),"
            " attribution: (document.querySelector('.leaflet-control-attribution') || {})"
            ".textContent || '', images: document.querySelectorAll('img[src=x],img[src=y]')"
            ".length};"
        )
        assert seen["pwned"] is None, (name, seen)
        assert seen["images"] == 0, (name, seen)
        if name == "report":  # (the map's tiles do not load: resource errors there)
            assert info["errors"] == [], info["errors"]
        assert "<script>window.__pwned='script'</script>" in seen["title"], seen
        assert "\\u202eevil\\x1b[31m" in seen["title"]  # shown, not acted on
        assert any("<img src=x" in t for t in seen["tooltip"]), seen
        if name == "map":
            assert "<img src=y" in seen["attribution"], seen
