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
