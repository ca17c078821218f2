"""The dbt docs site renders in a real headless browser (Debian's chromium).

`make docs` builds one static file, target/static_index.html (manifest and catalog inlined). This
module builds it the same way in-process (`dbt docs generate --static`) on a tiny lake written by
the Spark jobs, opens it in headless chromium and checks what a person would see: the project
overview, fct_lcr's page with its description, columns and parent, the page of every model from the
lake to fct_lcr with the node it is built from (Depends On), and the full-screen lineage graph of
+fct_lcr, whose screenshot must show the graph with its nodes.

The assertions read the text the route rendered outside <script> elements and the sidebar: the
static file inlines the whole manifest in a script and the sidebar lists every node on every page,
so a model name is in the raw DOM even if nothing rendered.

chromium comes from Debian (`make browser`, a prerequisite of `make test`); without it on PATH the
module is skipped.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import tempfile
import zlib
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest

from regcalc.dbt import invoke_dbt
from regcalc.pipeline import run_jobs
from regcalc.settings import Settings

CHROMIUM = shutil.which("chromium")

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="chromium is not on PATH: `make browser` installs it (apt-get install chromium)",
    ),
]

CASE_DIR = Path(__file__).parent / "cases" / "no_cap_binds"
SCHEMA = "docs_site"
LAKE_SCHEMA = "docs_site_lake"  # this module's lake tables, apart from other modules' lakes
BROWSER_TIMEOUT = 120  # seconds for one chromium run (it normally takes a few)
WINDOW = (1400, 900)
GRAPH_BACKGROUND = bytes.fromhex("005e7a")  # dbt-docs' lineage graph background
MODEL_NODE = bytes.fromhex("0094b3")  # and its fill of model nodes

# The lineage of the LCR, source to mart: each model's page must show it and the node it is built from.
LINEAGE = (
    ("stg_lake__deal_liquidity", "deal_liquidity"),  # the source lake.deal_liquidity
    ("int_deal_liquidity", "stg_lake__deal_liquidity"),
    ("int_deal_liquidity__adjusted", "int_deal_liquidity"),
    ("int_lcr_category_totals", "int_deal_liquidity__adjusted"),
    ("int_lcr_category_totals__adjusted", "int_lcr_category_totals"),
    ("int_lcr_components", "int_lcr_category_totals__adjusted"),
    ("int_lcr_components__adjusted", "int_lcr_components"),
    ("int_lcr", "int_lcr_components__adjusted"),
    ("fct_lcr", "int_lcr"),
)
OVERVIEW_TITLE = "regcalc: Basel III Liquidity Coverage Ratio"


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="module")
def site(spark, tmp_path_factory, monkeypatch_module) -> Path:
    """static_index.html of the project, generated on a lake the jobs wrote from one hand case."""
    work = tmp_path_factory.mktemp("docs_site")
    # the settings of this module go through the environment: restore it after the module.
    for name in ("REGCALC_LAKE", "REGCALC_TARGET", "REGCALC_SCHEMA"):
        monkeypatch_module.setenv(name, "unset")
    monkeypatch_module.setenv("REGCALC_TARGET", "local")
    monkeypatch_module.setenv("REGCALC_SCHEMA", SCHEMA)
    settings = Settings.from_env(lake=str(work / "lake"))
    run_jobs(spark, settings.lake, CASE_DIR)
    target = work / "target"
    invoke_dbt(
        ["docs", "generate", "--static", "--target-path", str(target)],
        settings,
        extra_vars={"lake_schema": LAKE_SCHEMA},
    )
    page = target / "static_index.html"
    assert page.is_file(), f"dbt docs generate --static wrote no {page}"
    return page


def chromium(page: Path, route: str, *args: str) -> subprocess.CompletedProcess:
    """One headless chromium run on `page` at the site route `route` (e.g. "/overview")."""
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        command = [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            # Lets the page's timers (Angular digests, graph layout) run before the dump / screenshot.
            "--virtual-time-budget=15000",
            *args,
            f"{page.as_uri()}#!{route}",
        ]
        result = subprocess.run(command, capture_output=True, text=True, timeout=BROWSER_TIMEOUT, check=False)
    assert result.returncode == 0, f"chromium failed ({result.returncode}):\n{result.stderr[-3000:]}"
    return result


class _PageText(HTMLParser):
    """The text of the routed page of a rendered document, outside <script>, <style> and <template>.

    The routed page is the element with a `ui-view` attribute and class app-body: what the route
    shows beside the sidebar (whose project tree lists every node on every route).
    """

    VOID = {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "track",
        "wbr",
    }
    SKIPPED = {"script", "style", "template"}

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.skipping = 0
        self.page_depth: int | None = None  # depth of the open routed-page element
        self.page: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        self.open.append(tag)
        attributes = dict(attrs)
        if (
            self.page_depth is None
            and "ui-view" in attributes
            and "app-body" in (attributes.get("class") or "")
        ):
            self.page_depth = len(self.open)
        if tag in self.SKIPPED:
            self.skipping += 1

    def handle_endtag(self, tag):
        if tag in self.VOID or not self.open:
            return
        if tag in self.SKIPPED and self.skipping:
            self.skipping -= 1
        if self.page_depth == len(self.open):
            self.page_depth = -1  # closed: only the first routed page counts
        self.open.pop()

    def handle_data(self, data):
        if not self.skipping and self.page_depth is not None and self.page_depth > 0 and data.strip():
            self.page.append(data.strip())


def page_text(dom: str) -> str:
    """The text of the routed page, whitespace collapsed."""
    parser = _PageText()
    parser.feed(dom)
    return " ".join(" ".join(parser.page).split())


def rendered(page: Path, route: str) -> tuple[str, str]:
    """The DOM after rendering the route, and the text of its routed page."""
    dom = chromium(page, route, "--dump-dom").stdout
    assert "</html>" in dom, f"chromium dumped no document for {route}"
    text = page_text(dom)
    assert text, f"the route {route} rendered an empty page (did the site's JavaScript run?)"
    return dom, text


def depends_on(text: str) -> list[str]:
    """The names listed in the "Depends On" section of a rendered model page."""
    match = re.search(r"Depends On ((?:(?!Depends On).)*?) Code Source", text)
    assert match, f"no Depends On section on the page: {text[:300]}"
    return match.group(1).split()


def png_colours(path: Path) -> tuple[int, int, Counter[bytes]]:
    """Width, height and the pixel count of each RGB colour of an 8-bit RGB(A) PNG (a small decoder)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    chunks: dict[bytes, list[bytes]] = {}
    offset = 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        chunks.setdefault(data[offset + 4 : offset + 8], []).append(data[offset + 8 : offset + 8 + length])
        offset += 12 + length
    width, height, depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"][0])
    assert depth == 8 and colour_type in (2, 6) and not interlace, f"unexpected PNG format in {path}"
    bpp = 3 if colour_type == 2 else 4
    raw = zlib.decompress(b"".join(chunks[b"IDAT"]))
    stride = 1 + width * bpp
    assert len(raw) == stride * height, "PNG data does not match its header"
    colours: Counter[bytes] = Counter()
    previous = bytearray(width * bpp)
    for row in range(height):
        kind, line = raw[row * stride], bytearray(raw[row * stride + 1 : (row + 1) * stride])
        if kind == 2:  # up
            line = bytearray((x + up) & 0xFF for x, up in zip(line, previous, strict=True))
        elif kind in (1, 3, 4):  # sub, average, paeth
            for i in range(len(line)):
                left = line[i - bpp] if i >= bpp else 0
                up, up_left = previous[i], previous[i - bpp] if i >= bpp else 0
                if kind == 1:
                    predictor = left
                elif kind == 3:
                    predictor = (left + up) >> 1
                else:
                    estimate = left + up - up_left
                    distances = (abs(estimate - left), abs(estimate - up), abs(estimate - up_left))
                    predictor = (left, up, up_left)[distances.index(min(distances))]
                line[i] = (line[i] + predictor) & 0xFF
        colours.update(bytes(line[i : i + 3]) for i in range(0, len(line), bpp))
        previous = line
    return width, height, colours


def test_overview_page_shows_the_project_overview(site):
    _, text = rendered(site, "/overview")
    assert text.startswith(OVERVIEW_TITLE), f"the overview does not open with its title: {text[:200]}"
    for heading in ("How the data flows", "The layers", "Reading the lineage"):
        assert heading in text, f"overview section {heading!r} not rendered"
    assert "fct_lcr <- int_lcr <- int_lcr_components__adjusted <- int_lcr_components" in text


def test_model_page_shows_description_columns_and_lineage(site):
    _, text = rendered(site, "/model/model.regcalc.fct_lcr")
    assert text.split()[0] == "fct_lcr", f"the page is not fct_lcr's: {text[:200]}"
    assert "The Liquidity Coverage Ratio per entity and as-of date" in text
    words = text.split()
    for column in ("scenario", "hqla", "adj_15_cap", "adj_40_cap", "net_cash_outflows", "lcr"):
        assert column in words, f"column {column} not on the fct_lcr page"
    assert "Stock of HQLA = L1 + L2A + L2B - adj_15_cap - adj_40_cap." in text  # a column description
    assert "int_lcr" in depends_on(text)


@pytest.mark.parametrize(("model", "parent"), LINEAGE, ids=[model for model, _ in LINEAGE])
def test_each_model_of_the_lcr_lineage_shows_what_it_is_built_from(site, model, parent):
    _, text = rendered(site, f"/model/model.regcalc.{model}")
    assert text.split()[0] == model, f"the page of {model} shows {text[:200]}"
    assert "Description" in text and "Columns" in text
    assert parent in depends_on(text), f"{model}'s page does not list {parent} under Depends On"


def test_full_screen_lineage_graph_renders(site, tmp_path):
    # g_v=1 opens the lineage graph full screen; g_i is its --select box (+fct_lcr: fct_lcr and
    # everything it is built from). Cytoscape draws the nodes on canvases, hence the screenshot.
    route = "/model/model.regcalc.fct_lcr?g_v=1&g_i=%2Bfct_lcr"
    dom, _ = rendered(site, route)
    assert "<canvas" in dom, "the lineage graph drew no canvas"
    assert 'data-launcher="fullscreen"' in dom, "the lineage graph is not open full screen"

    shot = tmp_path / "lineage.png"
    chromium(site, route, f"--screenshot={shot}", f"--window-size={WINDOW[0]},{WINDOW[1]}")
    assert shot.is_file(), "chromium wrote no screenshot"
    width, height, colours = png_colours(shot)
    assert (width, height) == WINDOW
    pixels = width * height
    # The full-screen graph covers the page with its dark background (dbt-docs: #005e7a), not the
    # white docs page; the model nodes are drawn in their fill colour (#0094b3) with anti-aliased labels.
    background, covered = colours.most_common(1)[0]
    assert background == GRAPH_BACKGROUND and covered > pixels / 2, (
        f"the lineage graph is not full screen: #{background.hex()} covers {covered / pixels:.0%} of the page"
    )
    assert colours[MODEL_NODE] > 2000, (
        f"no model nodes drawn ({colours[MODEL_NODE]} pixels of #{MODEL_NODE.hex()})"
    )
    assert len(colours) > 500, f"the screenshot has only {len(colours)} colours: no labels drawn?"


def test_exposure_page_shows_the_power_bi_report_and_the_marts_it_reads(site):
    _, text = rendered(site, "/exposure/exposure.regcalc.powerbi_lcr_reporting")
    assert text.startswith("LCR reporting (Power BI)"), f"not the exposure's page: {text[:200]}"
    assert "Regulatory Reporting" in text  # its owner
    for mart in ("agg_lcr_date_entity", "mv_lcr_current", "fct_deal_liquidity", "dim_entity"):
        assert mart in text.split(), f"the exposure page does not list {mart}"
