"""End to end in a real browser: JupyterLab on loopback, Chromium via Playwright, explore.ipynb.

Starts JupyterLab (token, ``--allow-root``, 127.0.0.1, a free port, a temp copy of the notebook,
a temp ``UNDERFOOT_HOME`` and temp Jupyter config/runtime dirs), opens ``explore.ipynb``, runs
every code cell (Shift+Enter, one by one), types a query into the explorer's text box, clicks
Search, waits for the results table and saves a screenshot (its path is printed and recorded as
the ``screenshot`` property). Skips only when ``/usr/bin/chromium`` is missing (Debian:
``apt-get install -y chromium``); never downloads a browser.

Run it: ``python -m pytest -m browser tests/browser -s``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
QUERY = "secret swimming holes near Ely MN"
DIFF_NOTEBOOK = "ranking_diff.ipynb"


def ranking_diff_notebook() -> dict[str, object]:
    """compare.ipynb's RankingDiff cells (tagged ``ranking-diff``: its parameters cell and the
    widget's cells), as a notebook of their own: the rest of compare.ipynb needs logged runs."""
    nb = json.loads((NOTEBOOKS / "compare.ipynb").read_text(encoding="utf-8"))
    nb["cells"] = [c for c in nb["cells"] if "ranking-diff" in c["metadata"].get("tags", [])]
    return dict(nb)


pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason=f"{CHROMIUM} not installed (apt-get install -y chromium)"
    ),
]


@dataclass(frozen=True)
class Lab:
    url: str
    token: str
    log: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"JupyterLab exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"JupyterLab not ready in {timeout_s:g}s:\n{log.read_text()[-3000:]}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the server we started and its kernels (its own process group, by id)."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    root = tmp_path / "notebooks"
    root.mkdir()
    shutil.copy(NOTEBOOKS / "explore.ipynb", root / "explore.ipynb")
    (root / DIFF_NOTEBOOK).write_text(json.dumps(ranking_diff_notebook()), encoding="utf-8")
    config = tmp_path / "jupyter-config"
    (config / "labconfig").mkdir(parents=True)
    # No "get Jupyter news?" toast over the notebook (it needs the network anyway).
    (config / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}})
    )
    settings = tmp_path / "jupyter-settings"
    tracker = settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True)
    # Start the notebook's kernel without the "Select Kernel" dialog.
    tracker.write_text(json.dumps({"autoStartDefaultKernel": True}))
    env = {
        **os.environ,
        "UNDERFOOT_HOME": str(tmp_path / "underfoot-home"),
        "UNDERFOOT_MODE": "offline",
        "JUPYTER_CONFIG_DIR": str(config),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "jupyter-runtime"),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "jupyter-workspaces"),
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "IPYTHONDIR": str(tmp_path / "ipython"),
        "MLFLOW_DISABLE_TELEMETRY": "true",
    }
    port = _free_port()
    token = secrets.token_hex(16)
    log = tmp_path / "jupyterlab.log"
    command = [
        sys.executable, "-m", "jupyter", "lab", "--allow-root", "--no-browser",
        "--ip=127.0.0.1", f"--port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=root,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(f"{url}/api/status?token={token}", proc, log, timeout_s=45)
        yield Lab(url, token, log)
    finally:
        _stop(proc)


def _run_cells(page: Any, lab: Lab, name: str, n_code_cells: int) -> None:
    """Open notebook ``name`` and run its code cells one by one, waiting for each."""
    from playwright.sync_api import expect

    page.goto(f"{lab.url}/lab/tree/{name}?reset&token={lab.token}")
    page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for()
    # The kernel must be up before "Run All" (otherwise the cells queue on a dead kernel).
    idle = page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']")
    expect(idle).to_have_count(1, timeout=60_000)
    # Run the code cells one by one (select, Shift+Enter, wait for "[n]:"). A "Run All"
    # right after start-up can lose queued cells while the kernel connection settles.
    # (JupyterLab renders cells lazily, so the count comes from the file, not the page.)
    cells = page.locator(".jp-Notebook .jp-CodeCell")
    for i in range(n_code_cells):
        prompt = cells.nth(i).locator(".jp-InputArea-prompt")
        for attempt in range(3):
            prompt.click()
            page.keyboard.press("Shift+Enter")
            try:
                expect(prompt).not_to_have_text("[ ]:", timeout=10_000)
                break
            except AssertionError:
                if attempt == 2:
                    raise
        expect(prompt).to_have_text(re.compile(r"^\[\d+\]:$"), timeout=120_000)


def test_explore_notebook_searches_in_the_browser(
    lab: Lab, tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    from playwright.sync_api import Page, expect, sync_playwright

    shot = tmp_path / "explore.png"
    console: list[str] = []
    notebook = json.loads((NOTEBOOKS / "explore.ipynb").read_text(encoding="utf-8"))
    n_code_cells = sum(c["cell_type"] == "code" for c in notebook["cells"])

    def drive(page: Page) -> int:
        _run_cells(page, lab, "explore.ipynb", n_code_cells)
        explorer = page.locator(".uf-explorer")
        box = explorer.locator(".uf-query input")
        box.wait_for(state="visible")
        caption = explorer.locator(".uf-table caption")
        # the notebook's own programmatic search (Pikeville) lands first
        expect(caption).to_contain_text("Pikeville")
        box.fill(QUERY)
        explorer.locator("button.uf-search-button").click()
        expect(caption).to_contain_text("Ely, Minnesota")
        rows = explorer.locator(".uf-table tr.uf-row")
        expect(rows.first).to_be_visible()
        expect(explorer.locator(".uf-banner")).to_contain_text("OFFLINE WORLD")
        expect(explorer.locator(".uf-status")).to_contain_text("Ely")
        # the one default scorer, stated above the sliders
        expect(explorer.locator(".uf-weights-label")).to_contain_text(
            "baseline-seed, the default scorer"
        )
        assert explorer.locator("svg.uf-map").count() == 1
        assert explorer.locator(".uf-waterfall .uf-stage").count() >= 6
        explorer.scroll_into_view_if_needed()
        explorer.screenshot(path=str(shot))
        return rows.count()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": 1500, "height": 2400})
        page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
        page.set_default_timeout(30_000)
        try:
            n_rows = drive(page)
        except Exception:
            failure = tmp_path / "failure.png"
            page.screenshot(path=str(failure))
            print(f"\nfailure screenshot: {failure}\nbrowser console:\n" + "\n".join(console))
            print(f"JupyterLab log ({lab.log}):\n{lab.log.read_text()[-4000:]}")
            raise
        finally:
            browser.close()
    record_property("screenshot", str(shot))
    print(f"\nscreenshot: {shot}")
    assert n_rows >= 1
    assert shot.is_file() and shot.stat().st_size > 10_000


def test_ranking_diff_in_the_browser(
    lab: Lab, tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    """compare.ipynb's RankingDiff cells render both rankings side by side with movement
    arrows, grades and the nDCG delta; picking a result shows its feature contributions."""
    from playwright.sync_api import Page, expect, sync_playwright

    shot = tmp_path / "ranking_diff.png"
    nb = ranking_diff_notebook()
    cells = nb["cells"]
    assert isinstance(cells, list)
    n_code_cells = sum(c["cell_type"] == "code" for c in cells)

    def drive(page: Page) -> tuple[int, list[str]]:
        _run_cells(page, lab, DIFF_NOTEBOOK, n_code_cells)
        diff = page.locator(".uf-ranking-diff")
        diff.wait_for(state="visible")
        expect(diff.locator(".uf-delta")).to_contain_text("nDCG@10")
        expect(diff.locator(".uf-delta")).to_contain_text("Marfa")
        rows = diff.locator("table.uf-diff tr.uf-diff-row")
        expect(rows).to_have_count(10)
        moves = diff.locator("td.uf-move").all_inner_texts()
        grades = diff.locator("td.uf-grade").all_inner_texts()
        assert all(g.strip() in {"0", "1", "2", "3"} for g in grades), grades
        first = diff.locator(".uf-contrib-view")
        expect(first).to_contain_text("per-feature contributions")
        # Pick the last result: its contributions replace the first one's.
        select = diff.locator("select").last
        options = select.locator("option")
        label = options.nth(options.count() - 1).inner_text()
        select.select_option(label=label)
        expect(first).to_contain_text(label.strip()[:20])
        # The frame cell renders the DataFrame's columns.
        table = page.locator(".jp-OutputArea-output table.dataframe")
        expect(table.first).to_contain_text("rank_candidate")
        diff.scroll_into_view_if_needed()
        diff.screenshot(path=str(shot))
        return rows.count(), moves

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": 1500, "height": 2400})
        page.set_default_timeout(30_000)
        try:
            n_rows, moves = drive(page)
        except Exception:
            failure = tmp_path / "failure.png"
            page.screenshot(path=str(failure))
            print(f"\nfailure screenshot: {failure}")
            print(f"JupyterLab log ({lab.log}):\n{lab.log.read_text()[-4000:]}")
            raise
        finally:
            browser.close()
    record_property("screenshot", str(shot))
    assert n_rows == 10
    assert any(m.startswith(("▲", "▼")) or m == "new" for m in moves), moves
