"""The notebooks' live controls, tested where a person sees them: JupyterLab in Chromium.

Starts JupyterLab (from the Python running the tests) on a free localhost port with no token and
throw-away config, settings and runtime folders, once for all the notebooks below. For each, opens a
copy in headless Chromium through Playwright, runs all cells in fast mode, checks that no cell failed
(so this test runs these notebooks for nbval, which ``conftest.py`` then leaves them out of),
moves the control with the keyboard (and presses Play where there is one) and checks that the figure
under it is redrawn with the caption its function gives for the new setting. Screenshots are kept in
$GANCOURSE_SCREENSHOTS, or build/screenshots in the repository.

Playwright drives the system's Chromium (Debian: ``apt-get install chromium``); it never downloads
a browser.
"""

from __future__ import annotations

import functools
import html
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from gancourse import worklog

ROOT = Path(__file__).resolve().parents[1]


def _js_caption(mean: float, std: float) -> str:
    """What 02's demo prints for p_g = N(mean, std²), from the functions it draws with (not from the browser)."""
    import numpy as np

    from gancourse import theory
    from gancourse.data.toy import Gaussian, GaussianMixture

    x = np.linspace(-12, 12, 4801)
    p_data = theory.density_on_grid(GaussianMixture([[-1.5], [1.5]], std=0.6), x)
    js = theory.js_divergence(p_data, theory.density_on_grid(Gaussian(mean, std), x), x)
    return f"JS(p_data, p_g) = {js:.4f}"


def _lines_caption(theta: float) -> str:
    from gancourse import theory

    return f"JS = {float(theory.parallel_lines_js(theta)):.4f}, W1 = {float(theory.parallel_lines_w1(theta)):.2f}"


@functools.cache
def _critic_fits():
    """05's stored critics, trained as the notebook trains them in fast mode (one thread: the same numbers)."""
    from gancourse.data.toy import Gaussian, make_toy
    from gancourse.experiments import fit_critics

    return fit_critics(make_toy("ring8"), Gaussian([0.0, 0.0], 0.3), steps=300)


def _critics_caption(c: float, gp_weight: float = 10.0) -> str:
    from gancourse.widgets import critics_caption

    fits = _critic_fits()
    return _as_text(critics_caption(fits["clipping", c], fits["penalty", gp_weight]))


def _latent_caption(amounts) -> str:
    """06's explorer at t = 0.5 for z0, z1 drawn as the notebook draws them."""
    import torch

    from gancourse.latent import random_directions
    from gancourse.models import image_networks
    from gancourse.widgets import latent_caption

    z_dim = image_networks(1, 28, width=8)[0].z_dim
    z0, z1 = torch.randn(2, z_dim, generator=torch.Generator().manual_seed(3))
    return _as_text(latent_caption(z0, z1, random_directions(z_dim, 3, seed=0), amounts, 0.5))


@functools.cache
def _fits_caption(separation: float) -> str:
    """04b's slider at one separation, over the separations the notebook computes."""
    import numpy as np

    from gancourse import divergences
    from gancourse.widgets import divergence_fits_demo

    separations = np.arange(1.0, 7.01, 0.5)
    fits = divergences.fits_by_separation(list(divergences.F_DIVERGENCES), separations, 0.5)
    return _as_text(divergence_fits_demo(fits, separations, 0.5, separation=separation).caption.value)


def _as_text(caption_html: str) -> str:
    """A caption as the browser shows it: tags dropped, entities (&nbsp;) decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", caption_html))


def _control(name, before, after, played=None) -> dict:
    return dict(name=name, before=before, after=after, played=played)


# notebook -> its controls, in the order they appear: each one's caption before a move, after one step right of
# its first slider (as its function computes it for the new setting), and after pressing Play (None: no Play)
CONTROLS = {
    "02_optimal_discriminator.ipynb": [_control("sliders", lambda: _js_caption(0.5, 1.2),
                                                lambda: _js_caption(0.6, 1.2))],
    "03_js_vs_wasserstein.ipynb": [_control("theta", lambda: _lines_caption(1.0), lambda: _lines_caption(1.25))],
    "01_first_gan.ipynb": [_control("player", lambda: "generator step 0", lambda: "generator step 10",
                                    played="generator step 150")],  # 16 frames, one every 10 of 150 fast steps
    "04_mode_collapse.ipynb": [_control("player", lambda: "generator step 50", lambda: "generator step 100",
                                        played="generator step 1000")],  # 20 frames, one every 50 of 1000 steps
    "04b_divergences.ipynb": [_control("separation", lambda: _fits_caption(4.0), lambda: _fits_caption(4.5))],
    "05_wgan.ipynb": [_control("critics", lambda: _critics_caption(0.01), lambda: _critics_caption(0.03))],
    "06_dcgan.ipynb": [_control("player", lambda: "generator step 0", lambda: "generator step 75",
                                played="generator step 1500"),  # 21 frames, one every 75 of 1500 fast steps
                       _control("explorer", lambda: _latent_caption([0.0, 0.0, 0.0]),
                                lambda: _latent_caption([0.5, 0.0, 0.0]))],
    # 12 frames, one every 25 of WGAN-GP's 300 fast generator steps (DCGAN's 1,500 at the same real batches)
    "07_wgan_gp.ipynb": [_control("player", lambda: "generator step 25", lambda: "generator step 50",
                                  played="generator step 300")],
}
CHROMIUM = Path(os.environ.get("GANCOURSE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = [
    "--no-sandbox",  # we may run as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-background-networking",  # the network may be closed: make no calls of our own
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",  # a container's small /dev/shm otherwise crashes the page
]
LAB_START_TIMEOUT_S = 180
RUN_ALL_TIMEOUT_S = 600  # fast mode takes well under a minute on a quiet machine; CI machines are not quiet
REDRAW_TIMEOUT_S = 180

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def screenshot_dir() -> Path:
    folder = Path(os.environ.get("GANCOURSE_SCREENSHOTS") or ROOT / "build" / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_lab(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + LAB_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with status {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/api/status", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"JupyterLab did not answer within {LAB_START_TIMEOUT_S} s:\n{log.read_text()[-3000:]}")


def browser_available() -> bool:
    """Chromium and Playwright are both installed: the browser test runs instead of being skipped."""
    import importlib.util

    return CHROMIUM.exists() and importlib.util.find_spec("playwright") is not None


@pytest.fixture
def sync_api():
    """Playwright's sync API, or a skip saying what to install (checked before JupyterLab starts)."""
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: install it with `apt-get install chromium` "
                    f"(or set GANCOURSE_CHROMIUM to its path)")
    return pytest.importorskip("playwright.sync_api", reason="pip install playwright (no browser download needed)")


@pytest.fixture(scope="session")
def jupyter_lab(tmp_path_factory):
    """A JupyterLab server on copies of the notebooks, one per pytest process; yields (base URL, notebook folder)."""
    tmp_path = tmp_path_factory.mktemp("lab")
    work, state = tmp_path / "notebooks", tmp_path / "jupyter"
    work.mkdir()
    for notebook in CONTROLS:
        shutil.copy(ROOT / "notebooks" / notebook, work / notebook)
    settings = state / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    # no "would you like news?" pop-up, no update check: the network may be closed
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    # the kernel uses the inline backend, and names its notebook to the work log from Jupyter's JPY_SESSION_NAME
    env = {k: v for k, v in os.environ.items() if k not in ("MPLBACKEND", worklog.NOTEBOOK_ENV)}
    env.update(
        GANCOURSE_FAST="1",
        JUPYTER_CONFIG_DIR=str(state / "config"),
        JUPYTER_RUNTIME_DIR=str(state / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(state / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(state / "workspaces"),
        IPYTHONDIR=str(state / "ipython"),
    )
    port = _free_port()
    log = tmp_path / "jupyterlab.log"
    command = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
        "--allow-root", f"--ServerApp.root_dir={work}", "--IdentityProvider.token=", "--ServerApp.password=",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--ServerApp.disable_check_xsrf=True",  # the test shuts kernels down through the REST API
    ]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=work)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for_lab(url, process, log)
        yield url, work
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _kernel_idle(url: str, notebook: str) -> bool:
    """True once the notebook's kernel is started and idle, as the server reports it."""
    try:
        with urllib.request.urlopen(f"{url}/api/sessions", timeout=2) as response:
            sessions = json.load(response)
    except OSError:
        return False
    return any(s.get("path", "").endswith(notebook) and (s.get("kernel") or {}).get("execution_state") == "idle"
               for s in sessions)


def _shut_down_kernels(url: str) -> list[str]:
    """Shut down every kernel the server runs (the notebook just checked is done): the paths of their notebooks.

    A kernel left running goes on using a share of a core (seen: 10-47 % each, after its notebook had
    finished), which the next notebook's run would then lack.
    """
    with urllib.request.urlopen(f"{url}/api/sessions", timeout=10) as response:
        sessions = json.load(response)
    for session in sessions:
        request = urllib.request.Request(f"{url}/api/sessions/{session['id']}", method="DELETE")
        urllib.request.urlopen(request, timeout=30).close()
    with urllib.request.urlopen(f"{url}/api/kernels", timeout=10) as response:
        assert json.load(response) == [], "a kernel still runs after its session was shut down"
    return [s.get("path", "") for s in sessions]


def _accept_dialog(page) -> None:
    """Accept a dialog if one is open (e.g. JupyterLab asking which kernel to start)."""
    accept = page.locator(".jp-Dialog .jp-mod-accept")
    if accept.count():
        accept.first.click()


def _prompts_done(page) -> bool:
    """True when every code cell shows an execution number (none waiting '[*]' or never run '[ ]')."""
    # textContent, not innerText: JupyterLab skips painting cells out of view, and innerText is empty there
    prompts = page.locator(".jp-CodeCell .jp-InputPrompt").all_text_contents()
    return bool(prompts) and all(p.strip() not in ("[*]:", "[ ]:", "") for p in prompts)


def _failed(page) -> bool:
    """True once a cell shows a traceback: JupyterLab then runs none of the cells after it."""
    return page.locator(".jp-OutputArea-output", has_text="Traceback").count() > 0


def _wait(condition, timeout_s: float, what: str, page=None, shot: Path | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    if page is not None and shot is not None:
        page.screenshot(path=str(shot), full_page=True)
    raise TimeoutError(f"timed out after {timeout_s} s waiting for {what}")


# each notebook a work unit of its own for pytest-xdist's workers (conftest.py's scheduler)
@pytest.mark.parametrize("notebook", list(CONTROLS))
def test_the_control_redraws_the_figure_as_its_function_says(sync_api, jupyter_lab, tmp_path, notebook):
    url, work = jupyter_lab
    shots, prefix = screenshot_dir(), notebook.split("_")[0]  # "04b" apart from "04": its own pictures and workspace
    for old in shots.glob(f"{prefix}_*.png"):  # a stale picture from an earlier run would mislead
        old.unlink()
    timeout_shot = shots / f"{prefix}_timeout.png"
    print(f"\nscreenshots: {shots}")
    started = time.monotonic()

    for attempt in (1, 2):  # a page that crashed while starting gets one more try; a wrong figure does not
        try:
            _move_the_controls(sync_api, url, work, tmp_path / f"chromium-profile-{attempt}", notebook, shots,
                               prefix, timeout_shot, started)
            return
        except sync_api.Error as err:
            if attempt == 2 or "closed" not in str(err):
                raise
            print(f"{notebook}: the browser page closed ({str(err).splitlines()[0]}); trying once more")


def _move_the_controls(sync_api, url, work, profile, notebook, shots, prefix, timeout_shot, started):
    with sync_api.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), headless=True,
            args=CHROMIUM_FLAGS, viewport={"width": 1400, "height": 1000},
        )
        try:
            page = context.new_page()
            page.goto(f"{url}/lab/workspaces/nb{prefix}/tree/{notebook}?reset")  # this notebook alone
            page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for(timeout=LAB_START_TIMEOUT_S * 1000)
            _wait(lambda: _accept_dialog(page) or _kernel_idle(url, notebook), LAB_START_TIMEOUT_S,
                  "the kernel to start", page, timeout_shot)
            page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(timeout=60_000)

            page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
            page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
            _wait(lambda: _accept_dialog(page) or _prompts_done(page) or _failed(page), RUN_ALL_TIMEOUT_S,
                  "all cells to run", page, timeout_shot)
            page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(timeout=60_000)
            ran_s = time.monotonic() - started

            demos = page.locator(".gancourse-figure-sliders")
            _wait(lambda: demos.count() == len(CONTROLS[notebook]), 60,
                  f"{len(CONTROLS[notebook])} controls on the page", page, timeout_shot)
            page.screenshot(path=str(shots / f"{prefix}_after_run_all.png"), full_page=False)

            # no cell failed: read the saved notebook, where an error is an output of type "error"
            page.keyboard.press("Control+s")
            _wait(lambda: any(o.get("output_type") for c in _cells(work, notebook) for o in c.get("outputs", [])),
                  60, "the notebook to be saved with its outputs")
            errors = [o for c in _cells(work, notebook) for o in c.get("outputs", [])
                      if o.get("output_type") == "error"]
            assert not errors, f"cells failed: {[(e['ename'], e['evalue']) for e in errors]}"
            assert page.locator(".jp-OutputArea-output", has_text="Traceback").count() == 0
            assert not (why := worklog.check(notebook)), why  # its training fits its share of the test budget

            for i, expected in enumerate(CONTROLS[notebook]):
                _move_one(page, demos.nth(i), expected, shots / f"{prefix}_{expected['name']}", timeout_shot)
            print(f"{notebook}: run all {ran_s:.0f} s")
        finally:
            context.close()
            print(f"shut down the kernels of {_shut_down_kernels(url)}")


def _move_one(page, demo, expected, shot_prefix: Path, timeout_shot: Path) -> None:
    """Move one control's first slider a step right (and press Play if it has one); check its caption and image."""
    image, caption = demo.locator("img"), demo.locator(".widget-html")
    image.wait_for(timeout=60_000)
    demo.scroll_into_view_if_needed()
    before_src, before_png = image.get_attribute("src"), image.screenshot()
    before, after = expected["before"](), expected["after"]()
    assert before in caption.inner_text(), (before, caption.inner_text())
    Path(f"{shot_prefix}_before.png").write_bytes(demo.screenshot())

    # move the slider one step to the right with the keyboard, as a person can
    demo.locator(".noUi-handle").first.click()
    page.keyboard.press("ArrowRight")
    _wait(lambda: after in caption.inner_text() and image.get_attribute("src") != before_src,
          REDRAW_TIMEOUT_S, f"the caption to read {after!r} after moving the slider", page, timeout_shot)
    time.sleep(1.0)  # let the new image finish painting
    assert image.screenshot() != before_png
    Path(f"{shot_prefix}_after.png").write_bytes(demo.screenshot())

    if expected["played"]:  # Play runs through every frame to the last
        demo.locator(".widget-play button").first.click()
        _wait(lambda: expected["played"] in caption.inner_text(), REDRAW_TIMEOUT_S,
              f"Play to reach {expected['played']!r}", page, timeout_shot)
        time.sleep(1.0)
        Path(f"{shot_prefix}_played.png").write_bytes(demo.screenshot())
    print(f"{shot_prefix.name}: caption at the end: {caption.inner_text()!r}")


def _cells(folder: Path, notebook: str) -> list[dict]:
    try:
        return json.loads((folder / notebook).read_text())["cells"]
    except (OSError, json.JSONDecodeError):  # being written
        return []
