"""Shared fixtures: fake and tiny models, paths to the shared data."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from logdigit.model import DEFAULT_CONFIG, build_model, save_model

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"


def load_tool(relative: str):
    """Import a script under ``tools/`` (not a package) as a module, by its path."""
    import importlib.util
    import sys

    path = REPO / "tools" / relative
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(path.stem, module)
    spec.loader.exec_module(module)
    return module


class InkModel(torch.nn.Module):
    """A stand-in segmenter: dark pixels are 'solid curve' (class 1), nothing is class 2.

    Input is ink-positive (1 = black). Gives the pipeline exact, known probabilities.
    """

    def __init__(self, cls: int = 1):
        super().__init__()
        self.cls = cls

    def forward(self, x):
        logits = torch.zeros(x.shape[0], 3, *x.shape[2:])
        logits[:, self.cls] = 20 * (x[:, 0] - 0.5)
        logits[:, 3 - self.cls] = -20
        return logits


class ConstantModel(torch.nn.Module):
    """Predicts the same logits everywhere."""

    def __init__(self, logits=(0.1, 0.5, 0.2)):
        super().__init__()
        self.logits = torch.tensor(logits)

    def forward(self, x):
        return self.logits.view(1, -1, 1, 1).expand(x.shape[0], -1, *x.shape[2:]).clone()


@pytest.fixture
def ink_model():
    return InkModel(), dict(DEFAULT_CONFIG, tile=256, overlap=32)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A model folder with random weights of the default architecture."""
    folder = tmp_path_factory.mktemp("models") / "tiny"
    torch.manual_seed(0)
    save_model(build_model(DEFAULT_CONFIG), folder, config=DEFAULT_CONFIG, card="random\n")
    return folder


def shared_or_skip(*parts: str) -> Path:
    p = SHARED.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"{p} not available (../shared is absent)")
    return p


@pytest.fixture(autouse=True)
def _reset_logging():
    """CLI calls configure logging (levels, stderr handler); keep tests independent."""
    import logging

    logger = logging.getLogger("logdigit")
    level, handlers = logger.level, list(logging.getLogger().handlers)
    yield
    logger.setLevel(level)
    root = logging.getLogger()
    for h in list(root.handlers):
        if h not in handlers:
            root.removeHandler(h)


@pytest.fixture(autouse=True)
def _reset_cpu_threads():
    """``--threads`` (logdigit.segment.set_cpu_threads) holds for the process: not for
    the next test."""
    from logdigit import segment

    held = list(segment._CPU_THREADS)
    yield
    segment._CPU_THREADS[:] = held


def cli(capsys, *args) -> tuple[int, str, str]:
    """Run ``logdigit ARGS`` in-process: exit code, stdout, stderr (never a traceback)."""
    from logdigit.cli import main

    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def synth_case_folder(root: Path, *, n: int, seed: int) -> Path:
    """``n`` small evaluation cases (300 x 400 px pages) rendered into ``root`` from a
    random-walk curve bank, as ``logdigit synth`` writes them."""
    import numpy as np

    from logdigit.render import random_walk_bank
    from logdigit.synth import synth_cases

    bank = random_walk_bank(np.random.default_rng(0), n=4, length=4000)
    synth_cases(bank, root, n=n, seed=seed, height=300, width=400)
    return root


@pytest.fixture
def one_torch_thread():
    """The test machine is busy (2 cores): one thread is faster and steadier than two."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


_LOADED: dict = {}


@pytest.fixture
def model(tiny_model_dir, monkeypatch) -> list[str]:
    """``--model TINY`` for in-process CLI calls; TINY is loaded once per session (other
    model folders, e.g. the bad-model tests, load for real)."""
    import logdigit.model

    real = logdigit.model.load_model

    def load_once(name, *, device="cpu", fuse=False):
        if Path(name) != tiny_model_dir:
            return real(name, device=device, fuse=fuse)
        if (name, fuse) not in _LOADED:
            _LOADED[name, fuse] = real(name, device=device, fuse=fuse)
        return _LOADED[name, fuse]

    monkeypatch.setattr(logdigit.model, "load_model", load_once)
    return ["--model", str(tiny_model_dir)]


# Property tests explore the same examples on every run (CI must not turn red on a new random
# draw); set HYPOTHESIS_PROFILE=explore to search with fresh random examples.
from hypothesis import settings as _hsettings  # noqa: E402

_hsettings.register_profile("deterministic", derandomize=True)
_hsettings.register_profile("explore", derandomize=False)
_hsettings.load_profile(__import__("os").environ.get("HYPOTHESIS_PROFILE", "deterministic"))
