"""tools/average_weights.py: the mean of two runs' weights, as a run folder."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

from .conftest import load_tool

avg = load_tool("average_weights.py")


def _shifted_copy(src, dst, *, by: float):
    """A copy of model folder ``src`` whose float tensors are all ``by`` higher."""
    shutil.copytree(src, dst)
    w = load_file(dst / "model.safetensors")
    save_file({k: (v + by if v.is_floating_point() else v + 7) for k, v in w.items()},
              dst / "model.safetensors")
    return dst


def test_average_is_the_mean_of_float_tensors_and_the_first_runs_integers(
        tiny_model_dir, tmp_path):
    a = tmp_path / "a"
    shutil.copytree(tiny_model_dir, a)
    b = _shifted_copy(tiny_model_dir, tmp_path / "b", by=2.0)
    out = avg.average_weights([a, b], tmp_path / "soup")
    wa, wb, got = (load_file(p / "model.safetensors") for p in (a, b, out))
    assert got.keys() == wa.keys()
    ints = [k for k, v in wa.items() if not v.is_floating_point()]
    assert ints, "the tiny model has BatchNorm counters"
    for k, v in got.items():
        if v.is_floating_point():
            torch.testing.assert_close(v, wa[k] + 1.0)
            assert not torch.equal(v, wa[k]) and not torch.equal(v, wb[k])
        else:
            assert torch.equal(v, wa[k])
    assert json.loads((out / "config.json").read_text()) == \
        json.loads((a / "config.json").read_text())
    with pytest.raises(FileExistsError):
        avg.average_weights([a, b], out)
    avg.average_weights([a, b], out, overwrite=True)


def test_average_refuses_another_network_and_a_single_run(tiny_model_dir, tmp_path):
    a = tmp_path / "a"
    shutil.copytree(tiny_model_dir, a)
    b = tmp_path / "b"
    shutil.copytree(tiny_model_dir, b)
    w = load_file(b / "model.safetensors")
    key = next(k for k, v in w.items() if v.is_floating_point() and v.ndim == 4)
    w[key] = torch.zeros(1, 1, 1, 1)
    save_file(w, b / "model.safetensors")
    with pytest.raises(ValueError, match="is \\(1, 1, 1, 1\\)"):
        avg.average_weights([a, b], tmp_path / "soup")
    with pytest.raises(ValueError, match="at least two"):
        avg.average_weights([a], tmp_path / "soup")
    assert not (tmp_path / "soup").exists()


def test_average_cli_names_a_run_without_weights(tiny_model_dir, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SystemExit) as exc:
        avg.main([str(tiny_model_dir), str(empty), str(tmp_path / "soup")])
    assert exc.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "empty: no model.safetensors" in err[0]
    assert not (tmp_path / "soup").exists()


def test_average_cli_names_a_damaged_weights_file(tiny_model_dir, tmp_path, capsys):
    bad = tmp_path / "bad"
    shutil.copytree(tiny_model_dir, bad)
    (bad / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(SystemExit) as exc:
        avg.main([str(tiny_model_dir), str(bad), str(tmp_path / "soup")])
    assert exc.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a safetensors file" in err[0] and "bad" in err[0]
    assert not (tmp_path / "soup").exists()
