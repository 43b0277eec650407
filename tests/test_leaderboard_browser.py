"""A leaderboard built from real runs of the embedded model, opened in headless Chromium."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
pytestmark = [pytest.mark.real_model, pytest.mark.browser]


def codeharness(*args, cwd):
    result = subprocess.run([sys.executable, "-m", "codeharness", *map(str, args)], cwd=cwd,
                            capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("leaderboard")
    results = root / "results"
    common = ["--backend", "hf", "--limit", "3", "--max-tokens", "128", "--output-dir", results]
    codeharness("eval", "--task", "humaneval", *common, cwd=root)
    codeharness("eval", "--task", "humaneval", "--n", "3", "--temperature", "0.8", *common, cwd=root)
    codeharness("eval", "--task", "mbpp_sanitized", *common, cwd=root)
    out = root / "site"
    codeharness("leaderboard", "build", results, "--out", out, cwd=root)
    return out, results


@pytest.fixture(scope="module")
def page(site):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1200})
        page.goto((site[0] / "index.html").as_uri())
        yield page
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "leaderboard.png"), full_page=True)
        browser.close()


def column_values(page, table: str, header: str) -> list[str]:
    return page.eval_on_selector(table, """(table, header) => {
        const index = Array.from(table.tHead.rows[0].cells).findIndex(c => c.textContent.trim().startsWith(header));
        return Array.from(table.tBodies[0].rows).filter(r => !r.hidden).map(r => r.cells[index].dataset.value ?? r.cells[index].textContent.trim());
    }""", header)


def test_every_number_traces_back_to_its_runs_scores(site, page):
    _, results = site
    rows = page.eval_on_selector_all("#table-humaneval tbody tr", "rows => rows.map(r => r.dataset.run)")
    assert len(rows) == 2
    values = dict(zip(rows, column_values(page, "#table-humaneval", "base pass@1 %")))
    for run_id, shown in values.items():
        scores = json.loads((results / run_id / "scores.json").read_text())
        assert float(shown) == pytest.approx(scores["pass_at_k"]["base"]["pass@1"]["value"])
    assert len(page.eval_on_selector_all("#table-mbpp_sanitized tbody tr", "rows => rows")) == 1


def test_sorting_a_column_reorders_rows(page):
    header = page.locator("#table-humaneval th", has_text="temperature")
    header.click()
    descending = [float(v) for v in column_values(page, "#table-humaneval", "temperature")]
    assert descending == sorted(descending, reverse=True) and len(set(descending)) == 2
    header.click()
    ascending = [float(v) for v in column_values(page, "#table-humaneval", "temperature")]
    assert ascending == sorted(ascending) and ascending != descending


def test_filter_hides_rows(page):
    page.fill("#filter-humaneval", "0.8")
    assert column_values(page, "#table-humaneval", "temperature") == ["0.8"]
    page.fill("#filter-humaneval", "")
    assert len(column_values(page, "#table-humaneval", "temperature")) == 2


def test_plots_render_and_reproduction_commands_are_shown(site, page):
    sizes = page.eval_on_selector_all("#humaneval figure img", "imgs => imgs.map(i => [i.complete, i.naturalWidth])")
    assert len(sizes) >= 2 and all(complete and width > 0 for complete, width in sizes)
    commands = page.eval_on_selector_all("#table-humaneval code.command", "codes => codes.map(c => c.textContent)")
    assert all(c.startswith("codeharness eval --task humaneval") for c in commands)
    manifest = page.get_attribute("#table-humaneval a.manifest", "href")
    assert json.loads((site[0] / manifest).read_text())["command"] in commands
