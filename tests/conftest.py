import pytest
import torch


@pytest.fixture(autouse=True)
def _quiet_torch():
    # Small networks train faster on one thread, and tests then do not fight over two cores.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def cli():
    """Run the ``gancourse`` command in-process: ``cli([...])`` is its exit status, argparse's refusals included."""
    from gancourse.cli import main

    def run(argv) -> int:
        try:
            return main([str(a) for a in argv])
        except SystemExit as e:  # argparse refuses a bad argument with exit status 2
            return e.code

    return run


@pytest.fixture
def fm_root(tmp_path, monkeypatch):
    """Tiny Fashion-MNIST IDX files (32 images a split) in a folder of their own; the real cache unseen."""
    from test_data_images import write_mnist_split

    from gancourse.data import images, local

    monkeypatch.setattr(local, "COURSE_DATA_DIR", tmp_path / "cache")
    monkeypatch.delenv(images.DATA_ENV, raising=False)
    for split in ("train", "test"):
        write_mnist_split(tmp_path / "fm", split=split, n=32)
    return tmp_path / "fm"


@pytest.hookimpl(trylast=True)  # after -m and -k have chosen the tests
def pytest_collection_modifyitems(config, items):
    """A notebook that the browser test runs (every cell, in JupyterLab, failing on any error) is not run twice.

    When Chromium and Playwright are there and the browser test of a notebook is selected, nbval's items for
    that notebook are deselected; otherwise nbval runs it as it runs every other notebook.
    """
    from test_browser import browser_available

    in_browser = {item.callspec.params["notebook"] for item in items
                  if item.path.name == "test_browser.py" and hasattr(item, "callspec")}
    if not in_browser or not browser_available():
        return
    twice = [item for item in items if item.path.suffix == ".ipynb" and item.path.name in in_browser]
    if twice:
        config.hook.pytest_deselected(items=twice)
        items[:] = [item for item in items if not (item.path.suffix == ".ipynb" and item.path.name in in_browser)]
