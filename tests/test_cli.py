"""Tests of the command line, run as `python -m xorattn` in a subprocess.

Each subprocess starts in a temporary directory and imports the package
from this repository. The many invalid-argument cases also run in-process
through `main`, which is the same code without the cost of starting Python.
"""

import os
import subprocess
import sys
import types
from pathlib import Path

import pytest
import torch

from xorattn import cli

REPO_ROOT = Path(__file__).resolve().parent.parent

OPTIONS = (
    "--seed", "--epochs", "--lr", "--weight-decay", "--freeze-attention", "--d-k", "--d-v",
    "--d-repr", "--mixing", "--log-every", "--out",
)
FIGURES = ("loss_curve.png", "attention_weights.png", "representation.png", "decision_boundary.png")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def run_cli(*args, cwd):
    """Run `python -m xorattn args` in cwd and return the completed process."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "xorattn", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
    )


def table_rows(stdout):
    """Return the table rows of the output, keyed by input label."""
    rows = {}
    for line in stdout.splitlines():
        if line.startswith(("(0,0)", "(0,1)", "(1,0)", "(1,1)")):
            label, target, prediction, *_ = line.split()
            rows[label] = (float(target), float(prediction))
    return rows


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    """The original experiment with figures saved to ./figures."""
    cwd = tmp_path_factory.mktemp("full_run")
    return run_cli("--out", "figures", cwd=cwd), cwd


# The original experiment


def test_full_run_exit_status(full_run):
    process, _ = full_run
    assert process.returncode == 0, process.stderr
    assert process.stderr == ""


def test_full_run_prints_loss_lines(full_run):
    process, _ = full_run
    loss_lines = [line for line in process.stdout.splitlines() if line.startswith("epoch")]
    assert len(loss_lines) == 20
    assert loss_lines[0].split()[:3] == ["epoch", "100", "loss"]
    assert loss_lines[-1].split()[:3] == ["epoch", "2000", "loss"]


def test_full_run_prints_table(full_run):
    process, _ = full_run
    assert "input  target  prediction  representation" in process.stdout
    assert "attn_weights" in process.stdout
    rows = table_rows(process.stdout)
    assert list(rows) == ["(0,0)", "(0,1)", "(1,0)", "(1,1)"]
    assert [target for target, _ in rows.values()] == [-1.0, 1.0, 1.0, -1.0]
    for label, (target, prediction) in rows.items():
        assert abs(prediction - target) < 0.2, label


def test_full_run_says_solved(full_run):
    process, _ = full_run
    assert "XOR solved: all four signs right and loss below 0.01, first reached at epoch" in process.stdout
    assert "final loss (MSE): " in process.stdout


@pytest.mark.parametrize("name", FIGURES)
def test_full_run_writes_png(full_run, name):
    process, cwd = full_run
    path = cwd / "figures" / name
    assert path.is_file()
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    assert path.stat().st_size > 10_000
    assert f"wrote {Path('figures') / name}" in process.stdout


# Options


def test_short_run_not_solved(tmp_path):
    # Seed 0 first reaches the threshold at epoch 70, so 50 epochs are too few.
    process = run_cli("--epochs", "50", "--log-every", "10", cwd=tmp_path)
    assert process.returncode == 0
    assert "XOR not solved:" in process.stdout
    assert "XOR solved" not in process.stdout
    assert sum(line.startswith("epoch") for line in process.stdout.splitlines()) == 5


def test_options_reach_config(tmp_path):
    process = run_cli(
        "--epochs", "30", "--seed", "4", "--lr", "0.05", "--d-k", "3", "--d-v", "4", "--d-repr", "3",
        "--mixing", "uniform", "--freeze-attention", "--log-every", "0", cwd=tmp_path,
    )
    assert process.returncode == 0, process.stderr
    first_line = process.stdout.splitlines()[0]
    assert "seed 4, 30 epochs, Adam lr 0.05" in first_line
    assert "d_k=3 d_v=4 d_repr=3" in first_line
    assert "mixing uniform, attention maps frozen" in first_line
    assert "mixing weights (uniform)" in process.stdout
    assert "[[0.50 0.50] [0.50 0.50]]" in process.stdout
    assert not any(line.startswith("epoch") for line in process.stdout.splitlines())


def test_other_d_repr_skips_representation(tmp_path):
    process = run_cli("--epochs", "20", "--d-repr", "3", "--log-every", "0", "--out", "figs", cwd=tmp_path)
    assert process.returncode == 0, process.stderr
    assert "skipped representation.png: it needs --d-repr 2, got 3" in process.stdout
    assert sorted(path.name for path in (tmp_path / "figs").iterdir()) == [
        "attention_weights.png", "decision_boundary.png", "loss_curve.png",
    ]


@pytest.fixture(scope="module")
def help_run(tmp_path_factory):
    return run_cli("--help", cwd=tmp_path_factory.mktemp("help"))


def test_help_mentions_options(help_run):
    assert help_run.returncode == 0
    assert help_run.stdout.startswith("usage: python -m xorattn")
    for option in OPTIONS:
        assert option in help_run.stdout, option
    assert "python -m xorattn sweep --help" in help_run.stdout


def test_help_explains_exit_status(help_run):
    assert "0  training finished, whether or not it solved XOR" in help_run.stdout
    assert "1  training diverged" in help_run.stdout
    assert "2  invalid arguments" in help_run.stdout


# Errors


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lr", "0"], "argument --lr: lr must be a finite number > 0, got 0.0"),
        (["--epochs", "abc"], "argument --epochs: invalid int value: 'abc'"),
    ],
)
def test_bad_argument_usage_error(tmp_path, args, message):
    process = run_cli(*args, cwd=tmp_path)
    assert process.returncode == 2
    assert process.stderr.startswith("usage: python -m xorattn")
    assert message in process.stderr
    assert "Traceback" not in process.stderr
    assert process.stdout == ""


def test_out_is_file_usage_error(tmp_path):
    (tmp_path / "taken").write_text("not a directory")
    process = run_cli("--out", "taken", "--epochs", "5", cwd=tmp_path)
    assert process.returncode == 2
    assert "usage:" in process.stderr
    assert "argument --out: taken exists and is not a directory" in process.stderr
    assert "Traceback" not in process.stderr


def test_divergence_error(tmp_path):
    process = run_cli("--lr", "1e30", "--epochs", "50", cwd=tmp_path)
    assert process.returncode == 1
    error_lines = process.stderr.splitlines()
    assert len(error_lines) == 1
    assert error_lines[0].startswith("python -m xorattn: error: training diverged: the loss became")
    assert "Traceback" not in process.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lr", "-0.1"], "argument --lr: lr must be a finite number > 0, got -0.1"),
        (["--lr", "nan"], "argument --lr: lr must be a finite number > 0, got nan"),
        (["--lr", "fast"], "argument --lr: invalid float value: 'fast'"),
        (["--epochs", "0"], "argument --epochs: epochs must be an integer >= 1, got 0"),
        (["--epochs", "2.5"], "argument --epochs: invalid int value: '2.5'"),
        (["--d-k", "0"], "argument --d-k: d_k must be an integer >= 1, got 0"),
        (["--d-v", "-1"], "argument --d-v: d_v must be an integer >= 1, got -1"),
        (["--d-repr", "0"], "argument --d-repr: d_repr must be an integer >= 1, got 0"),
        (["--mixing", "mean"], "argument --mixing: mixing must be one of attention, uniform, identity, got 'mean'"),
        (["--weight-decay", "-1"], "argument --weight-decay: weight_decay must be a finite number >= 0, got -1.0"),
        (["--seed", "-1"], "argument --seed: seed must be an integer from 0 to 18446744073709551615, got -1"),
        (["--seed", "x"], "argument --seed: invalid int value: 'x'"),
        (["--log-every", "-5"], "argument --log-every: must be an integer >= 0 (0 = no progress lines), got -5"),
        (["--unknown"], "unrecognized arguments: --unknown"),
    ],
)
def test_main_rejects_bad_argument(capsys, args, message):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(args)
    captured = capsys.readouterr()
    assert exit_info.value.code == 2
    assert captured.err.startswith("usage: xorattn")
    assert message in captured.err
    assert captured.out == ""


def test_main_out_under_file(tmp_path, capsys):
    (tmp_path / "taken").write_text("")
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--out", str(tmp_path / "taken" / "figures")])
    assert exit_info.value.code == 2
    assert "argument --out: could not create the directory" in capsys.readouterr().err


# Entry points


def test_main_reads_sys_argv(monkeypatch, capsys):
    # The console script `xorattn` calls main() with no arguments.
    monkeypatch.setattr(sys, "argv", ["xorattn", "--epochs", "5", "--log-every", "0"])
    assert cli.main() == 0
    assert "XOR not solved" in capsys.readouterr().out


def test_sweep_dispatch(monkeypatch):
    received = []

    def fake_main(argv):
        received.append(argv)
        return 7

    fake = types.ModuleType("xorattn.sweep_command")
    fake.main = fake_main
    monkeypatch.setitem(sys.modules, "xorattn.sweep_command", fake)
    assert cli.main(["sweep", "--seeds", "10", "--help"]) == 7
    assert received == [["--seeds", "10", "--help"]]


def test_sweep_help(tmp_path):
    pytest.importorskip("xorattn.sweep_command")
    process = run_cli("sweep", "--help", cwd=tmp_path)
    assert process.returncode == 0, process.stderr
    assert "usage:" in process.stdout


def test_main_restores_thread_count(capsys):
    original = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        assert cli.main(["--epochs", "5", "--log-every", "0"]) == 0
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(original)
