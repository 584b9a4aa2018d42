"""The built site, opened in headless Chromium: every page renders, every internal
link and anchor resolves, every image loads (the gallery's first of all), and the
search finds a class by name.

Needs Debian's `chromium` and `chromium-driver` (nox -s docs installs them when
missing) and selenium; run after the build: `pytest docs/tests/test_site.py
--site=docs/_build/html`.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
import time
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit

import pytest

DOCS = Path(__file__).resolve().parents[1]
PAGE_SCAN = """
return {
  hrefs: Array.from(document.querySelectorAll('a[href]'), a => a.href),
  ids: Array.from(document.querySelectorAll('[id]'), e => e.id),
  images: Array.from(document.images, i => [i.src, i.complete && i.naturalWidth > 0]),
  title: document.title,
  math: document.querySelectorAll('mjx-container').length,
  rawMath: document.querySelectorAll('div.math:not(:has(mjx-container))').length,
  ready: document.readyState === 'complete',
};
"""


@pytest.fixture(scope="module")
def site(request) -> Path:
    path = Path(request.config.getoption("--site") or DOCS / "_build" / "html").resolve()
    if not (path / "index.html").is_file():
        pytest.fail(f"no built site at {path}: run `nox -s docs` (or sphinx-build) first")
    return path


@pytest.fixture(scope="module")
def base_url(site: Path):
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver")
    chromium = shutil.which("chromium")
    driver_path = shutil.which("chromedriver")
    if not chromium or not driver_path:
        pytest.fail("headless Chromium needs Debian's chromium and chromium-driver packages")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(driver_path))
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def crawl(site: Path, base_url: str, browser):
    """Open every HTML page once; what each page shows, by site-relative path."""
    pages = {}
    for path in sorted(site.rglob("*.html")):
        rel = path.relative_to(site).as_posix()
        if rel.startswith("_static/"):  # the theme's template fragments, not pages
            continue
        pages[rel] = _open(browser, base_url + rel)
    return pages


def _open(browser, url: str) -> dict:
    """Load a page and scan it once it has finished loading (scripts included)."""
    browser.get(url)
    deadline = time.monotonic() + 15
    seen = browser.execute_script(PAGE_SCAN)
    while time.monotonic() < deadline and not (seen["title"] and seen["ready"]):
        time.sleep(0.1)
        seen = browser.execute_script(PAGE_SCAN)
    return seen


def _target(url: str, base_url: str) -> tuple[str, str] | None:
    """(page, fragment) of an internal link, None for an external one."""
    if not url.startswith(base_url):
        return None
    address, fragment = urldefrag(url)
    path = unquote(urlsplit(address).path).lstrip("/")
    if path == "" or path.endswith("/"):
        path += "index.html"
    return path, fragment


def test_every_page_renders(crawl, site: Path):
    assert len(crawl) >= 20, sorted(crawl)
    untitled = [page for page, seen in crawl.items() if not seen["title"]]
    assert not untitled


def test_no_internal_link_is_broken(crawl, site: Path, base_url: str):
    broken = []
    for page, seen in crawl.items():
        for href in seen["hrefs"]:
            target = _target(href, base_url)
            if target is None:
                continue
            path, fragment = target
            if not (site / path).is_file():
                broken.append(f"{page}: {href} (no such file)")
            elif fragment and path.endswith(".html") and fragment not in crawl[path]["ids"]:
                broken.append(f"{page}: {href} (no #{fragment} on {path})")
    assert not broken, "broken internal links:\n" + "\n".join(sorted(set(broken)))


def test_formulas_render(crawl):
    """MathJax (shipped with the site, no network) typesets every formula."""
    assert crawl["reference/api/waferopt.adam.html"]["math"] > 5
    raw = [page for page, seen in crawl.items() if seen["rawMath"]]
    assert not raw, f"formulas left as TeX on: {raw}"


def test_every_image_loads(crawl):
    failed = [
        f"{page}: {src}" for page, seen in crawl.items() for src, ok in seen["images"] if not ok
    ]
    assert not failed, "\n".join(failed)


def test_gallery_images_load(crawl):
    images = crawl["gallery/index.html"]["images"]
    figures = [(src, ok) for src, ok in images if "/_images/" in src]
    assert len(figures) >= 19, figures  # one per first-party shape
    assert all(ok for _, ok in figures), figures


def test_search_finds_a_class(browser, base_url: str):
    """The search page, fed a class name, lists that class's reference page."""
    browser.get(base_url + "search.html?q=CosineDecayLR")
    deadline = time.monotonic() + 30
    summary = ""
    while time.monotonic() < deadline and "finished" not in summary:
        time.sleep(0.2)
        summary = browser.execute_script(
            "const s = document.querySelector('#search-results .search-summary');"
            "return s ? s.textContent : '';"
        )
    assert "finished" in summary, f"the search did not finish: {summary!r}"
    links = browser.execute_script(
        "return Array.from(document.querySelectorAll('#search-results li a'), a => a.href);"
    )
    assert any("waferopt.schedulers" in link and "CosineDecayLR" in link for link in links), links
