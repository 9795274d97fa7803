"""The readiness pages in a real browser (Debian's Chromium, headless, driven by Playwright)
against a real `horizon web` process serving a seeded home on 127.0.0.1: a viewer reads the
instruments (and filters them), a timeline, the readiness table (and downloads its CSV) and
the supplier watch; an analyst confirms a stage change from the instrument's page and raises
the impact flag a supplier retirement proposes from the suppliers page."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import free_port, stop_process
from test_web_readiness import AS_ON, add_users, proposal, seed_home

from horizon.readiness.supplier_flags import SupplierFlagProposals
from horizon.state import StateDB
from horizon.web.readiness_views import load_readiness_files, supplier_hits
from horizon.workspace import Workspace

REPO = Path(__file__).resolve().parents[1]
HORIZON = [sys.executable, "-c", "from pipelines.cli import main; main()"]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
START_BACKSTOP_S = 120.0
PASSWORD = "a long enough password"


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright; a plain skip where it is missing."""
    executable = str(CHROMIUM) if CHROMIUM.exists() else shutil.which("chromium")
    if executable is None:
        pytest.skip(
            "no Chromium at /usr/bin/chromium: install Debian's chromium to run the browser tests"
        )
    playwright_api = pytest.importorskip(
        "playwright.sync_api", reason="the playwright package is not installed"
    )
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@dataclass
class Served:
    base: str
    state: StateDB


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, chromium: Any) -> Iterator[Served]:
    """`horizon web --home HOME` on a free loopback port, until the module is done."""
    folder = Path(tmp_path_factory.mktemp("readiness-browser"))
    settings = seed_home(folder / "home")
    state = StateDB(settings.state_db)
    add_users(Workspace(state))
    files = load_readiness_files(settings)  # the retirement's flag proposal, as a run stores it
    SupplierFlagProposals(state).add(supplier_hits(files, state), files.systems)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = folder / "web.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                *HORIZON,
                "web",
                "--home",
                str(settings.home),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        try:
            deadline = time.monotonic() + START_BACKSTOP_S
            while True:
                assert process.poll() is None, log_path.read_text(errors="replace")
                try:
                    if httpx.get(f"{base}/login", timeout=2.0).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, log_path.read_text(errors="replace")
                time.sleep(0.1)
            yield Served(base, state)
        finally:
            stop_process(process)


def signed_in(chromium: Any, served: Served, name: str, path: str) -> Any:
    """A fresh browser context signed in as `name`, on `path` (the login page sends it back)."""
    context = chromium.new_context(accept_downloads=True)
    page = context.new_page()
    page.goto(f"{served.base}{path}")
    assert page.url.startswith(f"{served.base}/login")
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(f"{served.base}{path}")
    return page


def squeezed(text: str) -> str:
    return " ".join(text.split())


def test_a_viewer_reads_instruments_a_timeline_readiness_and_suppliers_in_chromium(
    chromium: Any, served: Served
) -> None:
    page = signed_in(chromium, served, "vic", f"/instruments?on={AS_ON}")
    listing = squeezed(page.inner_text("table.instruments"))
    assert "Data (Use and Access) Act 2025 UK hard law adopted since 2025-06-19" in listing
    assert "2026-06-30: Duties of deployers of high-risk AI systems" in listing
    page.select_option("#jurisdiction", "US")
    page.click("#instrument-filters button[type=submit]")
    page.wait_for_url("**/instruments?jurisdiction=US*")
    filtered = page.inner_text("table.instruments")
    assert "Colorado AI Act" in filtered and "NIST AI Risk Management Framework" in filtered
    assert "Data (Use and Access) Act" not in filtered

    page.click("header nav >> text=Instruments")
    page.click("table.instruments >> text=Data (Use and Access) Act 2025")
    page.wait_for_url("**/instruments/uk-dua*")
    timeline = squeezed(page.inner_text("table.timeline"))
    assert timeline.index("2025-06-19 stage adopted") < timeline.index("2025-08-01 item")
    assert "Linked by: “The Data (Use and Access) Act enters into force" in timeline
    assert "DATA-PRIVACY" in page.locator("#obligations ~ h3").first.inner_text()
    assert page.locator("form.decide").count() == 0  # a viewer reads, never decides

    page.click("header nav >> text=Readiness")
    page.wait_for_url(f"{served.base}/readiness")
    table = squeezed(page.inner_text("main"))
    assert "Give safeguards for significant automated decisions" in table
    assert "2026-06-30" in table and "not started" in table
    with page.expect_download() as download:
        page.click("#download-csv")
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert {row["obligation"] for row in rows} == {"adm-safeguards", "deployer-risk-programme"}

    page.click("header nav >> text=Suppliers")
    page.wait_for_url(f"{served.base}/suppliers")
    assert (
        "2025-10-22 · Anthropic claude-3-5-sonnet: retirement — affects: underwriting document "
        "summaries" in squeezed(page.inner_text("ul.retirements"))
    )
    assert "affects: underwriting document summaries" in page.inner_text("table.supplier-timeline")
    page.context.close()


def test_hostile_text_in_a_proposal_stays_text_in_chromium(chromium: Any, served: Served) -> None:
    page = signed_in(chromium, served, "vic", "/instruments/nist-ai-rmf")
    assert page.locator("main img").count() == 0 and page.locator("main script").count() == 0
    assert (
        "<img src=x onerror=alert(1)>" in page.locator("#proposals ~ .proposal").first.inner_text()
    )
    page.context.close()


def test_an_analyst_confirms_a_stage_change_from_the_instrument_page_in_chromium(
    chromium: Any, served: Served
) -> None:
    target = proposal(served.state, "colorado-ai-act")
    page = signed_in(chromium, served, "ann", "/instruments/colorado-ai-act")
    assert page.inner_text("#current-stage") == "adopted"
    card = f"#proposal-{target.id}"
    assert "delayed to June 30, 2026" in page.inner_text(card)
    page.fill(f"#decide-{target.id}-rationale", "SB 25B-004 was signed on 28 August 2025.")
    page.click(f"{card} button.confirm")
    page.wait_for_url(f"{served.base}/instruments/colorado-ai-act")
    assert page.inner_text("#current-stage") == "amended"
    assert page.locator(card).count() == 0
    assert "confirmed by ann from item colorado-delay" in page.inner_text("table.timeline")
    decided = proposal(served.state, "colorado-ai-act")
    assert (decided.status, decided.decided_by) == ("confirmed", "ann")
    assert decided.rationale == "SB 25B-004 was signed on 28 August 2025."
    page.click("header nav >> text=Proposals")
    assert "SB 25B-004 was signed on 28 August 2025." in page.inner_text("table.decided")
    page.click("header nav >> text=Audit trail")
    assert f"stage.confirm · stage proposal {target.id}" in page.inner_text("table.audit")
    page.context.close()


def test_an_analyst_raises_a_proposed_supplier_flag_from_the_suppliers_page_in_chromium(
    chromium: Any, served: Served
) -> None:
    [target] = SupplierFlagProposals(served.state).find()
    page = signed_in(chromium, served, "ann", "/suppliers")
    card = f"table.supplier-timeline #supplier-proposal-{target.id}"
    assert "Impact flag proposed for underwriting document summaries" in squeezed(
        page.inner_text(card)
    )
    page.fill(f"#supplier-{target.id}-rationale", "Summaries stop on 22 October: migrate first.")
    page.click(f"{card} button.confirm")
    page.wait_for_url(f"{served.base}/suppliers")
    assert page.locator(card).count() == 0
    [decided] = SupplierFlagProposals(served.state).find()
    assert (decided.status, decided.decided_by) == ("confirmed", "ann")
    assert f"confirmed by ann (flag {decided.flag_id})" in page.inner_text(
        "table.supplier-timeline"
    )

    page.click("table.supplier-timeline >> text=Anthropic model deprecations")
    page.wait_for_url("**/items/claude-retirement")
    flag = squeezed(page.inner_text(f"#flag-{decided.flag_id}"))
    assert "THIRD-PARTY" in flag and "Summaries stop on 22 October: migrate first." in flag
    page.click("header nav >> text=Audit trail")
    assert f"supplier.confirm · supplier flag proposal {target.id}" in page.inner_text(
        "table.audit"
    )
    page.context.close()
