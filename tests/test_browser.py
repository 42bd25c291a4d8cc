"""Open notebook 04 in a real Jupyter server with headless Chromium, run it, and move a slider.

Each test starts its own server (JupyterLab or Jupyter Notebook 7) on
127.0.0.1 with a random token, on a copy of the notebook, so the committed
file is never saved over. It runs all cells from the Run menu, waits for the
three panels, checks that no output shows an error, moves the training
scrubber's epoch slider with the keyboard and checks that the plot image
changed. Screenshots go to test-artifacts/ in the repository root, or to
the folder named by XORATTN_ARTIFACTS_DIR.

Chromium comes from Debian (/usr/bin/chromium), not from `playwright
install`. Without it the tests are skipped, unless XORATTN_REQUIRE_BROWSER=1
is set, as in CI, where a missing browser is a failure.
"""

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
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

pytestmark = pytest.mark.browser

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_NAME = "04_decision_boundaries_and_sliders.ipynb"
# Screenshots and server logs; CI points XORATTN_ARTIFACTS_DIR at the folder it keeps.
ARTIFACT_DIR = Path(os.environ.get("XORATTN_ARTIFACTS_DIR") or REPOSITORY_ROOT / "test-artifacts")

CHROMIUM = Path("/usr/bin/chromium")
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

# How each app is started and where it opens a notebook.
APPS = {
    "lab": ("lab", "/lab/tree/{name}"),
    "notebook": ("notebook", "/notebooks/{name}"),
}

# Without these options JupyterLab fetches news and checks for updates on the
# internet. The extension manager in read-only mode does not query PyPI.
OFFLINE_LAB_OPTIONS = [
    "--LabApp.news_url=None",
    "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate",
    "--LabApp.extension_manager=readonly",
]

SERVER_START_TIMEOUT_S = 90
SERVER_STOP_TIMEOUT_S = 15
# The notebook trains seven models; on a busy 2-core machine that takes about a minute.
RUN_ALL_TIMEOUT_S = 240
SLIDER_REDRAW_TIMEOUT_S = 30
# Times to try Run All Cells when JupyterLab shows a kernel dialog first.
RUN_ALL_ATTEMPTS = 3

# The three panels each show one ipywidgets.Image.
PANEL_COUNT = 3
# How far to drag the epoch slider's handle to the left, in CSS pixels: far
# enough to pass several of the 121 saved epochs on the 420-pixel slider.
DRAG_PIXELS = 60


@dataclass
class JupyterServer:
    """A running Jupyter server and what a test needs to reach it."""

    app: str
    base_url: str
    token: str
    notebook_url: str
    log_path: Path


@pytest.fixture(scope="session")
def chromium_executable() -> Path:
    """Return Debian's Chromium, or skip (fail under XORATTN_REQUIRE_BROWSER=1) if it is missing."""
    if CHROMIUM.exists():
        return CHROMIUM
    message = f"headless browser tests need Chromium at {CHROMIUM}; install the Debian package chromium"
    if os.environ.get("XORATTN_REQUIRE_BROWSER") == "1":
        pytest.fail(message + " (required because XORATTN_REQUIRE_BROWSER=1)")
    pytest.skip(message)


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_answers(base_url: str, token: str) -> bool:
    """Return True if the server's status endpoint returns 200 for the token."""
    request = urllib.request.Request(f"{base_url}/api/status", headers={"Authorization": f"token {token}"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def log_tail(path: Path, lines: int = 40) -> str:
    """Return the last lines of a log file, for failure messages."""
    if not path.exists():
        return "(no log written)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def stop_server(process: subprocess.Popen) -> None:
    """Stop the server and its kernels: SIGTERM, then SIGKILL to its process group if it hangs."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=SERVER_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=SERVER_STOP_TIMEOUT_S)
    # The server was started in its own session, so its process group contains
    # exactly the server and the kernels it launched.
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@pytest.fixture(params=sorted(APPS))
def jupyter_server(request, tmp_path, chromium_executable) -> JupyterServer:
    """Start JupyterLab or Jupyter Notebook 7 on a copy of notebook 04; always stop it afterwards."""
    app = request.param
    command_name, path_template = APPS[app]
    root = tmp_path / "notebooks"
    root.mkdir()
    shutil.copy(REPOSITORY_ROOT / "notebooks" / NOTEBOOK_NAME, root / NOTEBOOK_NAME)

    port = free_port()
    token = secrets.token_hex(24)
    base_url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable, "-m", "jupyter", command_name, "--no-browser",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
    ]
    if app == "lab":
        command += OFFLINE_LAB_OPTIONS
    if os.geteuid() == 0:
        command.append("--allow-root")  # CI containers often run as root, where Jupyter refuses to start otherwise

    # Settings, workspaces, runtime files and IPython history stay in tmp_path;
    # the kernel imports xorattn from this checkout.
    env = dict(os.environ)
    env["JUPYTER_CONFIG_DIR"] = str(tmp_path / "jupyter-config")
    env["JUPYTER_RUNTIME_DIR"] = str(tmp_path / "jupyter-runtime")
    env["IPYTHONDIR"] = str(tmp_path / "ipython")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPOSITORY_ROOT), env.get("PYTHONPATH")]))

    log_path = tmp_path / f"jupyter-{app}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command, cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while not server_answers(base_url, token):
            if process.poll() is not None:
                pytest.fail(f"jupyter {command_name} exited with code {process.returncode}:\n{log_tail(log_path)}")
            if time.monotonic() > deadline:
                pytest.fail(f"jupyter {command_name} did not answer within {SERVER_START_TIMEOUT_S} s:\n"
                            f"{log_tail(log_path)}")
            time.sleep(0.5)

        notebook_url = base_url + path_template.format(name=NOTEBOOK_NAME) + f"?token={token}"
        yield JupyterServer(app, base_url, token, notebook_url, log_path)
    finally:
        stop_server(process)
        ARTIFACT_DIR.mkdir(parents=True, exist_ok=True)
        shutil.copy(log_path, ARTIFACT_DIR / log_path.name)


@pytest.fixture
def page(jupyter_server, chromium_executable):
    """A Chromium page of 1400 x 1000 pixels, closed after the test."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium_executable), args=CHROMIUM_ARGS)
        try:
            yield browser.new_page(viewport={"width": 1400, "height": 1000})
        finally:
            browser.close()


def kernel_connected(server: JupyterServer) -> bool:
    """Return True once the server has an idle kernel with a browser connected to it."""
    request = urllib.request.Request(f"{server.base_url}/api/kernels", headers={"Authorization": f"token {server.token}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        kernels = json.load(response)
    return any(kernel["execution_state"] == "idle" and kernel.get("connections", 0) > 0 for kernel in kernels)


def wait_for_kernel(page, server: JupyterServer, timeout_s: float) -> None:
    """Wait until the page's kernel is started, connected and idle.

    Running cells before the page has attached its kernel makes JupyterLab
    ask which kernel to start, in place of running them.
    """
    deadline = time.monotonic() + timeout_s
    while not kernel_connected(server):
        if time.monotonic() > deadline:
            pytest.fail(f"no idle kernel with a browser connection after {timeout_s} s:\n{log_tail(server.log_path)}")
        time.sleep(0.5)
    page.wait_for_selector('.jp-Notebook-ExecutionIndicator[data-status="idle"]', timeout=timeout_s * 1000)


def run_all_cells(page, server: JupyterServer, timeout_s: float) -> None:
    """Choose Run > Run All Cells in the menu bar, as a user would, and wait until the cells run.

    Should JupyterLab still show a "Select Kernel" dialog, the test accepts
    the default kernel, as a user would, and runs all cells again.
    """
    busy = '.jp-Notebook-ExecutionIndicator[data-status="busy"]'
    for _ in range(RUN_ALL_ATTEMPTS):
        wait_for_kernel(page, server, timeout_s)
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name=re.compile(r"^Run All Cells")).click()
        page.wait_for_selector(f"{busy}, .jp-Dialog", timeout=timeout_s * 1000)
        dialog = page.locator(".jp-Dialog")
        if not dialog.count():
            return
        dialog.locator(".jp-mod-accept").click()
        dialog.wait_for(state="detached", timeout=timeout_s * 1000)
    pytest.fail(f"Run All Cells did not start the cells in {RUN_ALL_ATTEMPTS} attempts")


def wait_for_run_to_finish(page, timeout_s: float) -> None:
    """Wait until every code cell shows an execution count and the panels' images are drawn."""
    page.wait_for_function(
        """([panels]) => {
            const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
            const done = prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
            const images = document.querySelectorAll('img.widget-image');
            return done && images.length >= panels;
        }""",
        arg=[PANEL_COUNT],
        timeout=timeout_s * 1000,
    )


def output_problems(page) -> list[str]:
    """Return the error texts that outputs and widgets show on the page."""
    # Jupyter renders both stderr streams and exceptions with the stderr type.
    stderr = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
    problems = [f"stderr or error output: {text[:200]}" for text in stderr.all_inner_texts()]
    for text in ("Error displaying widget", "Traceback (most recent call last)"):
        if page.get_by_text(text).count():
            problems.append(f"page shows {text!r}")
    return problems


def screenshot_when_changed(locator, before: bytes, timeout_s: float) -> bytes:
    """Return a screenshot of locator as soon as it differs from before, or the last one at the timeout."""
    deadline = time.monotonic() + timeout_s
    after = locator.screenshot()
    while after == before and time.monotonic() < deadline:
        time.sleep(0.25)
        after = locator.screenshot()
    return after


def test_notebook_sliders_in_browser(jupyter_server, page):
    """Notebook 04 runs in the browser, shows its three panels, and the epoch slider redraws the plot."""
    app = jupyter_server.app
    ARTIFACT_DIR.mkdir(parents=True, exist_ok=True)
    page.goto(jupyter_server.notebook_url, wait_until="domcontentloaded")
    try:
        page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=SERVER_START_TIMEOUT_S * 1000)
        run_all_cells(page, jupyter_server, SERVER_START_TIMEOUT_S)
        wait_for_run_to_finish(page, RUN_ALL_TIMEOUT_S)
        page.screenshot(path=ARTIFACT_DIR / f"browser-{app}-after-run.png", full_page=True)

        assert output_problems(page) == []
        assert page.locator("img.widget-image").count() == PANEL_COUNT

        # The training scrubber is the first panel: its slider, readout and image come first.
        handle = page.locator(".noUi-handle").first
        readout = page.locator(".widget-readout").first
        image = page.locator("img.widget-image").first
        image.scroll_into_view_if_needed()
        start_epoch = readout.text_content().strip()
        source_before = image.get_attribute("src")
        pixels_before = image.screenshot(path=ARTIFACT_DIR / f"browser-{app}-scrubber-before.png")

        # Drag the handle to the left with the mouse. Arrow keys are no option:
        # Notebook 7 moves the focus from the slider back to a cell.
        box = handle.bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.mouse.move(x, y)
        page.mouse.down()
        page.mouse.move(x - DRAG_PIXELS, y, steps=10)
        page.mouse.up()
        page.wait_for_function(
            "([start]) => document.querySelector('.widget-readout').textContent.trim() !== start",
            arg=[start_epoch],
            timeout=SLIDER_REDRAW_TIMEOUT_S * 1000,
        )
        pixels_after = screenshot_when_changed(image, pixels_before, SLIDER_REDRAW_TIMEOUT_S)
        (ARTIFACT_DIR / f"browser-{app}-scrubber-after.png").write_bytes(pixels_after)

        end_epoch = readout.text_content().strip()
        assert start_epoch == "2000"
        assert end_epoch.isdigit()
        assert int(end_epoch) < 2000
        assert pixels_after != pixels_before
        assert image.get_attribute("src") != source_before
        assert output_problems(page) == []
    finally:
        page.screenshot(path=ARTIFACT_DIR / f"browser-{app}-final.png", full_page=True)
