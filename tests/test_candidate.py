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


def test_candidate_keeps_the_runs_architecture_and_takes_settings(tiny_model_dir, tmp_path):
    """The run's own config gives the network (a shipped config for another architecture
    would not load its weights); the shipped one gives the inference settings; ``--set``
    changes one."""
    run = tmp_path / "run"
    shutil.copytree(tiny_model_dir, run)
    run_config = json.loads((run / "config.json").read_text())
    shipped = tmp_path / "shipped"
    shutil.copytree(tiny_model_dir, shipped)
    other = dict(run_config, logit_bias=[0.0, 0.0, 0.6], flip_average=True,
                 decoder_channels=[c * 2 for c in run_config["decoder_channels"]])
    (shipped / "config.json").write_text(json.dumps(other))
    cand.main([str(run), str(tmp_path / "cand"), "--config-from", str(shipped),
               "--set", "flip_average=false", "--set", "tile=256"])
    got = json.loads((tmp_path / "cand" / "config.json").read_text())
    assert got["decoder_channels"] == run_config["decoder_channels"]
    assert got["logit_bias"] == [0.0, 0.0, 0.6]
    assert got["flip_average"] is False and got["tile"] == 256
    assert (tmp_path / "cand" / "inference.onnx").is_file()


def test_candidate_cli_refuses_a_bad_setting(tiny_model_dir, tmp_path, capsys):
    for bad in ("flip_average", "flip_average=nope"):
        with pytest.raises(SystemExit) as exc:
            cand.main([str(tiny_model_dir), str(tmp_path / "out"), "--set", bad])
        assert exc.value.code == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("candidate: ")
        assert not (tmp_path / "out").exists()
