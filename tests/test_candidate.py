"""tools/candidate.py: a training run's weights with the shipped config, ready to judge."""

from __future__ import annotations

import json
import shutil

import pytest

from .conftest import load_tool

cand = load_tool("candidate.py")


def test_candidate_gets_the_runs_weights_and_the_shipped_config(tiny_model_dir, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(tiny_model_dir, run)
    shipped = tmp_path / "shipped"
    shutil.copytree(tiny_model_dir, shipped)
    config = json.loads((shipped / "config.json").read_text())
    config["logit_bias"] = [0.0, 0.0, 0.6]
    (shipped / "config.json").write_text(json.dumps(config))
    out = cand.make_candidate(run, tmp_path / "cand", config_from=shipped)
    assert (out / "model.safetensors").read_bytes() == (run / "model.safetensors").read_bytes()
    assert json.loads((out / "config.json").read_text())["logit_bias"] == [0.0, 0.0, 0.6]
    assert (out / "inference.onnx").is_file()
    with pytest.raises(FileExistsError):
        cand.make_candidate(run, out, config_from=shipped)
    cand.make_candidate(run, out, config_from=shipped, overwrite=True)


def test_candidate_cli_refuses_a_folder_without_weights(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        cand.main([str(tmp_path), str(tmp_path / "out")])
    assert exc.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no model.safetensors" in err[0]
    assert not (tmp_path / "out").exists()
