"""`train` (DPO or KTO on DSTC preference pairs, into a checkpoint `eval --model` loads) and
`compare` (the paired difference of two runs' metrics, with a bootstrap interval over
problems). Heavy modules load inside the commands so `codeharness --help` stays fast."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from codeharness.cli.common import guarded


def register(app: typer.Typer) -> None:
    app.command("train")(guarded(train))
    app.command("compare")(guarded(compare))


def train(
    prefs: Annotated[Path, typer.Argument(help="A folder `codeharness prefs` wrote (PREFS/dpo, PREFS/kto).")],
    out: Annotated[Path, typer.Option(help="Folder for the trained checkpoint (give it to `eval --model`).")],
    method: Annotated[str, typer.Option(help="dpo (TRL's DPOTrainer on PREFS/dpo) or kto (KTOTrainer on PREFS/kto).")] = "dpo",
    model: Annotated[Optional[str], typer.Option(help="Base checkpoint path or Hugging Face id; default: the embedded SmolLM2-135M-Instruct.")] = None,
    lora: Annotated[bool, typer.Option(help="Train LoRA adapters (peft) and merge them into the saved weights.")] = False,
    lora_r: Annotated[int, typer.Option(help="LoRA rank.")] = 16,
    lora_alpha: Annotated[float, typer.Option(help="LoRA alpha.")] = 32.0,
    lora_dropout: Annotated[float, typer.Option(help="LoRA dropout.")] = 0.05,
    learning_rate: Annotated[float, typer.Option(help="Peak learning rate (LoRA usually wants ~1e-4).")] = 5e-6,
    epochs: Annotated[float, typer.Option(help="Passes over the pairs.")] = 1.0,
    max_steps: Annotated[Optional[int], typer.Option(help="Optimizer steps; overrides --epochs.")] = None,
    batch_size: Annotated[int, typer.Option(help="Records per device batch (KTO: at least 2).")] = 2,
    gradient_accumulation_steps: Annotated[int, typer.Option(help="Batches per optimizer step.")] = 1,
    beta: Annotated[float, typer.Option(help="DPO/KTO β: how far the policy may move from the base model.")] = 0.1,
    max_length: Annotated[int, typer.Option(help="Most tokens of prompt + response (longer ones are cut).")] = 1024,
    seed: Annotated[int, typer.Option()] = 0,
    device: Annotated[str, typer.Option(help="auto (cuda when present), cpu or cuda.")] = "auto",
    overwrite: Annotated[bool, typer.Option(help="Replace an existing --out folder.")] = False,
):
    """Fine-tune a model on DSTC preference pairs with TRL; the checkpoint (LoRA merged) is a
    plain Hugging Face folder that `eval --model OUT` takes on the hf and vllm backends."""
    from codeharness.pipeline.train import TrainSettings
    from codeharness.pipeline.train import train as run_training
    from rich.console import Console

    settings = TrainSettings(method=method, model=model, lora=lora, lora_r=lora_r, lora_alpha=lora_alpha,
                             lora_dropout=lora_dropout, learning_rate=learning_rate, epochs=epochs,
                             max_steps=max_steps, batch_size=batch_size,
                             gradient_accumulation_steps=gradient_accumulation_steps, beta=beta,
                             max_length=max_length, seed=seed, device=device)
    record = run_training(prefs, out, settings, overwrite)
    losses = [entry["loss"] for entry in record["log"] if "loss" in entry]
    console = Console()
    console.print(f"{record['method'].upper()}{' + LoRA (merged)' if settings.lora else ''}: "
                  f"{record['steps']} steps on {record['preferences']['records']} records, "
                  f"{record['train_seconds']:.0f} s on {record['device']} ({record['dtype']}); "
                  f"loss {' → '.join(f'{x:.4f}' for x in losses[:1] + losses[-1:]) or 'not logged'}",
                  highlight=False)
    console.print(f"checkpoint: {out}  (codeharness eval --model {out} ...)", highlight=False)


def compare(
    run_a: Annotated[Path, typer.Argument(help="The baseline run directory.")],
    run_b: Annotated[Path, typer.Argument(help="The run to compare with it (same task and problems).")],
    out: Annotated[Optional[Path], typer.Option(help="Also write the comparison as JSON here.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap resamples.")] = 0,
):
    """The paired difference B - A of pass@k per test group, with a 95% bootstrap interval
    over problems (the same problems resampled in both runs)."""
    from codeharness.core.rundir import write_json_atomic
    from codeharness.pipeline.compare import compare_runs

    result = compare_runs(run_a, run_b, seed)
    if out is not None:
        write_json_atomic(out, result)
    show_comparison(result, out)


def show_comparison(result: dict, out: Path | None) -> None:
    from codeharness.pipeline.compare import SHOWN_KS
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console()
    for side in ("a", "b"):
        run = result[f"run_{side}"]
        console.print(f"{side.upper()}: {escape(str(run['model']))} ({run['backend']}) — {escape(run['path'])}",
                      highlight=False)
    table = Table(title=f"{result['task']}: B - A over {result['problems']} problems (paired bootstrap)")
    for column in ("metric", "A", "B", "B - A", "95% CI", "B better", "A better"):
        table.add_column(column, justify="left" if column == "metric" else "right")
    for metric in result["metrics"]:
        if metric["k"] not in SHOWN_KS:
            continue
        table.add_row(metric["metric"], _percent(metric["a"]), _percent(metric["b"]),
                      _points(metric["difference"]),
                      f"{_points(metric['ci_low'])} to {_points(metric['ci_high'])}",
                      str(metric["problems_b_better"]), str(metric["problems_a_better"]))
    console.print(table)
    for note in result["notes"]:
        console.print(f"[yellow]note:[/] {escape(note)}", highlight=False)
    if out is not None:
        console.print(f"comparison: {out}", highlight=False)


def _percent(value: float) -> str:
    return f"{100 * value:.2f}%"


def _points(value: float) -> str:
    return f"{100 * value:+.2f}"
