"""Tests of `python -m xorattn sweep`, run as a subprocess like a user would."""

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from xorattn.sweep_command import csv_header, main

REPO = Path(__file__).resolve().parents[1]


def run_sweep(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run(
        [sys.executable, "-m", "xorattn", "sweep", *args],
        capture_output=True, text=True, env=env, cwd=cwd or REPO, timeout=300,
    )


def test_sweep_prints_table():
    completed = run_sweep("--seeds", "4", "--variants", "trainable", "identity", "--epochs", "30", "--no-progress")
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert lines[0].startswith("Training 4 seeds (from seed 0) of trainable, identity with the original config")
    assert any(line.startswith("trainable ") and "/4" in line for line in lines)
    assert any(line.startswith("identity ") and "0/4" in line for line in lines)
    assert completed.stderr == ""


def test_sweep_shows_progress_on_stderr():
    completed = run_sweep("--seeds", "2", "--variants", "uniform", "--epochs", "20")
    assert completed.returncode == 0, completed.stderr
    assert "epoch" in completed.stderr
    assert "epoch" not in completed.stdout.splitlines()[-1]


def test_sweep_writes_csv_and_figures(tmp_path):
    out = tmp_path / "nested" / "out"
    completed = run_sweep(
        "--seeds", "3", "--first-seed", "5", "--variants", "frozen", "uniform", "--config", "improved",
        "--epochs", "40", "--lr", "0.01", "--out", str(out), "--no-progress",
    )
    assert completed.returncode == 0, completed.stderr
    assert "d_v=16" in completed.stdout
    assert "lr=0.01" in completed.stdout

    with (out / "sweep_results.csv").open() as file:
        rows = list(csv.reader(file))
    assert rows[0] == csv_header()
    assert len(rows) == 1 + 2 * 3
    assert [row[0] for row in rows[1:]] == ["frozen"] * 3 + ["uniform"] * 3
    assert [row[1] for row in rows[1:4]] == ["5", "6", "7"]
    # Uniform mixing gives every token weight 1/2 on each key.
    assert set(rows[4][6:]) == {"0.5"}
    for name in ("sweep_success_rates.png", "sweep_solved_epochs.png", "sweep_loss_curves.png"):
        assert (out / name).stat().st_size > 1000, name
        assert f"wrote {out / name}" in completed.stdout


def test_csv_header_names_attention_weights():
    header = csv_header()
    assert header[:6] == ["variant", "seed", "solved", "solved_epoch", "final_loss", "diverged_epoch"]
    assert len(header) == 6 + 16
    assert header[6] == "attn_00_q1_k1"
    assert header[-1] == "attn_11_q2_k2"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--seeds", "0"], "argument --seeds: must be an integer >= 1, got 0"),
        (["--seeds", "many"], "argument --seeds: invalid int value: 'many'"),
        (["--variants", "attention"], "argument --variants: invalid choice: 'attention'"),
        (["--variants", "frozen", "frozen"], "each variant may be given once, got frozen more than once"),
        (["--config", "best"], "argument --config: invalid choice: 'best'"),
        (["--epochs", "0"], "argument --epochs: must be an integer >= 1, got 0"),
        (["--lr", "-0.1"], "argument --lr: must be a finite number > 0, got -0.1"),
        (["--lr", "inf"], "argument --lr: must be a finite number > 0, got inf"),
        (["--first-seed", "-1"], "argument --first-seed: seeds must lie from 0 to"),
        (["--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_sweep_rejects_bad_arguments(args, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([*args, "--no-progress"])
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("usage: xorattn sweep")
    assert message in captured.err
    assert captured.out == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--seeds", "-3"], "argument --seeds: must be an integer >= 1, got -3"),
        (["--variants", "trainable", "softmax"], "argument --variants: invalid choice: 'softmax'"),
    ],
)
def test_sweep_command_line_exits_2_without_traceback(args, message):
    completed = run_sweep(*args, "--no-progress")
    assert completed.returncode == 2
    assert completed.stderr.startswith("usage: xorattn sweep")
    assert message in completed.stderr
    assert "Traceback" not in completed.stderr
    assert completed.stdout == ""


def test_sweep_rejects_output_path_under_a_file(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(SystemExit) as exit_info:
        main(["--seeds", "1", "--epochs", "1", "--out", str(blocker / "sub"), "--no-progress"])
    assert exit_info.value.code == 2
    assert "argument --out: cannot create directory" in capsys.readouterr().err


def test_sweep_help_lists_variants(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    help_text = capsys.readouterr().out
    for name in ("trainable", "frozen", "uniform", "identity", "original", "improved"):
        assert name in help_text
