"""Training on DSTC preference pairs: TRL's DPOTrainer or KTOTrainer (LoRA through peft as an
option) on a folder `codeharness prefs` wrote, into a checkpoint that `eval --model` loads.

The checkpoint is a plain Hugging Face folder: the model's weights (LoRA adapters merged into
them), config, generation config and tokenizer with its chat template, so the hf and vllm
backends load it like any other. It is saved in the dtype it was trained in (float32 on CPUs):
a few small steps would vanish when rounded to bfloat16. `codeharness_training.json` beside
it records the base model, the settings, the preference data and the problems that fed it,
the trainer's log and the library versions.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from codeharness.core import manifest as manifest_info
from codeharness.core.errors import HarnessError
from codeharness.core.extras import require_extra
from codeharness.core.rundir import write_json_atomic

METHODS = ("dpo", "kto")
TRAINING_RECORD = "codeharness_training.json"


@dataclass
class TrainSettings:
    method: str = "dpo"
    model: str | None = None  # the base checkpoint; default: the embedded SmolLM2
    lora: bool = False
    lora_r: int = 16
    lora_alpha: float = 32.0
    lora_dropout: float = 0.05
    learning_rate: float = 5e-6
    epochs: float = 1.0
    max_steps: int | None = None  # overrides epochs
    batch_size: int = 2
    gradient_accumulation_steps: int = 1
    beta: float = 0.1
    max_length: int = 1024
    seed: int = 0
    device: str = "auto"  # auto: cuda when present, else cpu

    def __post_init__(self):
        if self.method not in METHODS:
            raise HarnessError(f"--method must be one of {', '.join(METHODS)}, got {self.method!r}")
        if self.device not in ("auto", "cpu", "cuda"):
            raise HarnessError(f"--device must be auto, cpu or cuda, got {self.device!r}")
        values = asdict(self)
        for name in ("lora_r", "batch_size", "gradient_accumulation_steps", "max_length", "max_steps"):
            if values[name] is not None and values[name] < 1:
                raise HarnessError(f"--{name.replace('_', '-')} must be at least 1, got {values[name]}")
        for name in ("learning_rate", "epochs", "beta", "lora_alpha"):
            if not values[name] > 0:
                raise HarnessError(f"--{name.replace('_', '-')} must be positive, got {values[name]}")
        if not 0 <= self.lora_dropout < 1:
            raise HarnessError(f"--lora-dropout must be in [0, 1), got {self.lora_dropout}")
        if self.method == "kto" and self.batch_size < 2:
            # TRL's KTO estimates its KL term from the other completions of a batch.
            raise HarnessError("KTO needs --batch-size 2 or more (its KL term is estimated within a batch)")


def load_preferences(prefs: Path, method: str):
    """The method's dataset from a prefs folder (PREFS/dpo or PREFS/kto), and pair_stats.json."""
    require_extra("training on preference pairs", "train", "datasets")
    import datasets

    folder = Path(prefs) / method
    if not (folder / "dataset_info.json").exists():
        raise HarnessError(f"{prefs}: no {method.upper()} dataset ({folder} is missing); "
                           "make one with `codeharness prefs`")
    stats_path = Path(prefs) / "pair_stats.json"
    try:
        statistics = json.loads(stats_path.read_text()) if stats_path.exists() else {}
    except ValueError as exc:
        raise HarnessError(f"{stats_path}: malformed JSON ({exc})") from exc
    empty = HarnessError(f"{prefs}: no preference pairs to train on (pair_stats.json says why "
                         "problems were skipped)")
    if statistics.get("pairs") == 0:
        raise empty
    try:
        dataset = datasets.load_from_disk(str(folder))
    except Exception as exc:  # noqa: BLE001 - a damaged folder: one line, not a traceback
        raise HarnessError(f"{folder}: not a readable dataset ({exc})") from exc
    if len(dataset) == 0:
        raise empty
    return dataset, statistics


def train(prefs: Path, out: Path, settings: TrainSettings, overwrite: bool = False) -> dict:
    """Train, then write the checkpoint to `out` (whole or not at all); returns its record."""
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise HarnessError(f"{out} exists and is not empty; use --overwrite to replace it")
    require_extra("codeharness train", "train", "trl", "transformers", "torch", "datasets",
                  *(["peft"] if settings.lora else []))
    dataset, statistics = load_preferences(prefs, settings.method)

    import torch
    import transformers
    import trl
    from codeharness.core.models import describe_model, resolve_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base = resolve_model(settings.model)
    use_cpu = settings.device == "cpu" or (settings.device == "auto" and not torch.cuda.is_available())
    if settings.device == "cuda" and not torch.cuda.is_available():
        raise HarnessError("--device cuda, but torch sees no CUDA device")
    bf16 = not use_cpu and torch.cuda.is_bf16_supported()
    tokenizer = AutoTokenizer.from_pretrained(base)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.bfloat16 if bf16 else torch.float32)

    scratch = out.with_name(f".{out.name}.partial")
    shutil.rmtree(scratch, ignore_errors=True)
    config = _trainer_config(settings, scratch / "trainer", use_cpu, bf16)
    peft_config = _lora_config(settings) if settings.lora else None
    trainer_class = trl.DPOTrainer if settings.method == "dpo" else trl.KTOTrainer
    started, clock = manifest_info.now(), time.perf_counter()
    trainer = trainer_class(model=model, args=config, train_dataset=dataset, processing_class=tokenizer,
                            peft_config=peft_config)
    result = trainer.train()
    seconds = time.perf_counter() - clock

    trained = trainer.model
    if settings.lora:
        trained = trained.merge_and_unload()
    checkpoint = scratch / "checkpoint"
    trained.save_pretrained(checkpoint, safe_serialization=True)
    tokenizer.save_pretrained(checkpoint)
    record = {
        "method": settings.method,
        "settings": asdict(settings),
        "base_model": describe_model(settings.model),
        "preferences": {"folder": str(Path(prefs).resolve()), "records": len(dataset),
                        "pairs": statistics.get("pairs"), "sources": statistics.get("sources")},
        "device": "cpu" if use_cpu else "cuda",
        "dtype": "bfloat16" if bf16 else "float32",
        "steps": trainer.state.global_step,
        "train_loss": result.training_loss,
        "train_seconds": round(seconds, 1),
        "log": trainer.state.log_history,
        "versions": {"trl": trl.__version__, "transformers": transformers.__version__,
                     "torch": torch.__version__, **_peft_version(settings.lora)},
        "started": started,
        "finished": manifest_info.now(),
    }
    write_json_atomic(checkpoint / TRAINING_RECORD, record)
    if out.exists():
        shutil.rmtree(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    checkpoint.rename(out)
    shutil.rmtree(scratch, ignore_errors=True)
    return record


def _trainer_config(settings: TrainSettings, output_dir: Path, use_cpu: bool, bf16: bool):
    import trl

    common = dict(
        output_dir=str(output_dir), per_device_train_batch_size=settings.batch_size,
        gradient_accumulation_steps=settings.gradient_accumulation_steps,
        learning_rate=settings.learning_rate, num_train_epochs=settings.epochs,
        max_steps=settings.max_steps or -1, beta=settings.beta, max_length=settings.max_length,
        seed=settings.seed, data_seed=settings.seed, use_cpu=use_cpu, bf16=bf16,
        report_to=[], save_strategy="no", logging_steps=1, disable_tqdm=True,
        dataloader_num_workers=0,
    )
    config_class = trl.DPOConfig if settings.method == "dpo" else trl.KTOConfig
    return config_class(**common)


def _lora_config(settings: TrainSettings):
    from peft import LoraConfig

    return LoraConfig(r=settings.lora_r, lora_alpha=settings.lora_alpha,
                      lora_dropout=settings.lora_dropout, target_modules="all-linear",
                      task_type="CAUSAL_LM")


def _peft_version(lora: bool) -> dict:
    if not lora:
        return {}
    import peft

    return {"peft": peft.__version__}


def training_record(model: str | None) -> dict | None:
    """The training record of a checkpoint `codeharness train` wrote, else None."""
    if not model:
        return None
    path = Path(model) / TRAINING_RECORD
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except ValueError:
        return None
