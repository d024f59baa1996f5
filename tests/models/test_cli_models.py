"""`gemma-chat models ...`: in-process with a test catalogue, and as a real subprocess."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import gguf
import numpy as np
import pytest

from gemma_chat.cli import models as cli_models
from gemma_chat.models import download
from tests.models.fake_hf import FakeHub, StaticCatalogue, make_entry

REPO = "acme/tiny-GGUF"
Q4 = os.urandom(1_500_000)
Q8 = os.urandom(200_000)
PROJECTOR = os.urandom(40_000)
FILES = {"tiny-Q4_K_M.gguf": Q4, "tiny-Q8_0.gguf": Q8, "mmproj-tiny-f16.gguf": PROJECTOR}
CATALOGUE = StaticCatalogue(
    make_entry(
        "tiny-1b",
        REPO,
        {"Q4_K_M": ("tiny-Q4_K_M.gguf", Q4), "Q8_0": ("tiny-Q8_0.gguf", Q8)},
        mmproj=("mmproj-tiny-f16.gguf", PROJECTOR),
    ),
    make_entry("built-in", "", {}, builtin=True),
)
CLI = [sys.executable, "-m", "gemma_chat", "models"]


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    monkeypatch.setattr(download, "RETRY_PAUSE_S", 0.0)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    with FakeHub() as fake:
        fake.add_repo(REPO, FILES)
        monkeypatch.setenv("HF_ENDPOINT", fake.url)
        yield fake


def call(argv: list[str], data_dir: Path) -> int:
    parser = argparse.ArgumentParser(prog="gemma-chat")
    cli_models.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["models", *argv, "--data-dir", str(data_dir)])
    return args.handler(args, catalogue=CATALOGUE)


def cli(args: list[str], home: Path, **kwargs) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GEMMA_CHAT_HOME": str(home), **kwargs.pop("env", {})}
    return subprocess.run(CLI + args, capture_output=True, text=True, timeout=120, env=env)


def test_pull_info_list_rm_by_catalogue_id(
    hub: FakeHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert call(["pull", "tiny-1b"], tmp_path) == 0
    out, err = capsys.readouterr()
    model_path = Path(out.strip())
    assert model_path.read_bytes() == Q4
    assert "Pulled tiny-1b Q4_K_M (1.5 MB)" in err

    assert call(["list", "--json"], tmp_path) == 0
    rows = {row["spec"]: row for row in json.loads(capsys.readouterr().out)}
    tiny = rows["tiny-1b"]
    assert tiny["installed"] and tiny["download_bytes"] == len(Q4) + len(PROJECTOR)
    assert [q["installed"] for q in tiny["quants"]] == [True, False]
    [pulled] = tiny["pulls"]
    assert pulled["model_path"] == str(model_path) and pulled["mmproj_path"]
    assert rows["built-in"]["source"] == "builtin" and rows["built-in"]["installed"]

    assert call(["info", "tiny-1b", "--json"], tmp_path) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["entry"]["name"] == "Tiny-1B" and info["pulls"][0]["quant"] == "Q4_K_M"

    assert call(["list"], tmp_path) == 0
    assert "Q4_K_M (1.5 MB)" in capsys.readouterr().out

    assert call(["rm", "tiny-1b"], tmp_path) == 0
    assert "freed 1.5 MB" in capsys.readouterr().out
    assert not model_path.exists()


def test_errors_are_one_line_with_exit_1(
    hub: FakeHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert call(["pull", "nope"], tmp_path) == 1
    err = capsys.readouterr().err
    assert err.strip().startswith("error: unknown model 'nope'")
    assert "Traceback" not in err
    assert call(["pull", "tiny-1b", "--quant", "Q2_K"], tmp_path) == 1
    assert "no quantisation 'Q2_K'" in capsys.readouterr().err
    assert call(["rm", "tiny-1b"], tmp_path) == 1
    assert "tiny-1b is not downloaded" in capsys.readouterr().err
    assert call(["pull", "built-in"], tmp_path) == 1
    assert "built in" in capsys.readouterr().err


def write_gguf(path: Path) -> Path:
    writer = gguf.GGUFWriter(path, "llama")
    writer.add_name("tiny local model")
    writer.add_block_count(2)
    writer.add_context_length(2048)
    writer.add_tensor("blk.0.attn_q.weight", np.ones((4, 8), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def test_info_on_a_local_gguf_needs_no_download(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = write_gguf(tmp_path / "local.gguf")
    assert call(["info", str(model), "--json"], tmp_path) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["kind"] == "path" and info["size_bytes"] == model.stat().st_size
    assert info["gguf"]["architecture"] == "llama" and info["gguf"]["context_length"] == 2048
    assert call(["info", f"gguf:{model}"], tmp_path) == 0
    assert "tiny local model" in capsys.readouterr().out


def test_subprocess_list_pull_info_rm_with_hf_endpoint(hub: FakeHub, tmp_path: Path) -> None:
    listing = cli(["list", "--json"], tmp_path)
    assert listing.returncode == 0, listing.stderr
    rows = {row["spec"]: row for row in json.loads(listing.stdout)}
    assert rows["embedded"]["source"] == "builtin"
    assert rows["gemma-4-e4b"]["installed"] is False and rows["gemma-4-e4b"]["repo"]

    pulled = cli(["pull", f"{REPO}:Q8_0"], tmp_path)
    assert pulled.returncode == 0, pulled.stderr
    assert Path(pulled.stdout.strip()).read_bytes() == Q8
    assert hub.bytes_served("tiny-Q8_0.gguf") == len(Q8)

    rows = {row["spec"]: row for row in json.loads(cli(["list", "--json"], tmp_path).stdout)}
    assert rows[f"hf:{REPO}:Q8_0"]["source"] == "installed"

    info = cli(["info", f"hf:{REPO}", "--json"], tmp_path)
    assert json.loads(info.stdout)["pulls"][0]["files"][0]["sha256"]

    removed = cli(["rm", f"{REPO}"], tmp_path)
    assert removed.returncode == 0 and "freed 240 kB" in removed.stdout


def test_subprocess_unknown_model_exits_1_without_traceback(tmp_path: Path) -> None:
    result = cli(["pull", "no-such-model"], tmp_path)
    assert result.returncode == 1
    assert "error: unknown model 'no-such-model'" in result.stderr
    assert "Traceback" not in result.stderr
    missing = cli(["info", str(tmp_path / "missing.gguf")], tmp_path)
    assert missing.returncode == 1 and "no GGUF file at" in missing.stderr


def test_ctrl_c_stops_a_pull_and_the_same_command_resumes(hub: FakeHub, tmp_path: Path) -> None:
    hub.throttle_bps = 400_000  # ~4 s for the file: time to interrupt it
    env = {**os.environ, "GEMMA_CHAT_HOME": str(tmp_path)}
    proc = subprocess.Popen(
        [*CLI, "pull", REPO], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    blobs = tmp_path / "models" / "models--acme--tiny-GGUF" / "blobs"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        partial = list(blobs.glob("*.incomplete")) if blobs.exists() else []
        if partial and partial[0].stat().st_size > 100_000:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "partial download is kept" in err and "Traceback" not in err
    [partial] = blobs.glob("*.incomplete")
    kept = partial.stat().st_size
    assert 0 < kept < len(Q4)

    hub.throttle_bps = None
    again = cli(["pull", REPO], tmp_path)
    assert again.returncode == 0, again.stderr
    assert Path(again.stdout.strip()).read_bytes() == Q4
    assert hub.gets("tiny-Q4_K_M.gguf")[-1].range == f"bytes={kept}-"
