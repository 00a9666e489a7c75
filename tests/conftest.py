import pytest
import torch


@pytest.fixture(autouse=True)
def _quiet_torch():
    # Small networks train faster on one thread, and tests then do not fight over two cores.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
