"""`codeharness cogex search`: CoTACS, a program search per task of a battery, with its
baselines; `codeharness cogex battery`: write a battery's items to a JSONL file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from codeharness.cli.common import at_least, default_backend, guarded, open_sandbox, output_folder

app = typer.Typer(help="CoGEX: program emulation and program search.", no_args_is_help=True)

BATTERY_HELP = ("Comma-separated selectors: dia:PATTERN (DIA templates by name), cruxeval:N or cruxeval:PATTERN "
                "(CRUXEval function families), file:PATH (a JSONL battery).")


def _selectors(battery: str | None) -> list[str]:
    from codeharness.tasks.cotacs_battery import DEFAULT_BATTERY

    return [s.strip() for s in (battery or DEFAULT_BATTERY).split(",") if s.strip()]


def _families(selectors: list[str], train_items: int, test_items: int, seed: int, cruxeval_path: str | None,
              sandbox: str, workers: int | None) -> list:
    from codeharness.tasks import cotacs_battery

    if not cotacs_battery.needs_sandbox(selectors):
        return cotacs_battery.families(selectors, train_items, test_items, seed)
    with open_sandbox(sandbox, workers) as box:
        return cotacs_battery.families(selectors, train_items, test_items, seed, box, cruxeval_path)


@app.command()
def search(
    battery: Annotated[Optional[str], typer.Option(help=BATTERY_HELP + " Default: every text-only DIA "
                                                   "template and 20 CRUXEval functions.")] = None,
    cruxeval_path: Annotated[Optional[str], typer.Option(help="CRUXEval's cruxeval.jsonl, or hf:NAME.")] = None,
    model: Annotated[Optional[str], typer.Option(help="Default: the embedded SmolLM2-135M-Instruct.")] = None,
    backend: Annotated[Optional[str], typer.Option(help="hf, vllm or openai.")] = None,
    candidates: Annotated[int, typer.Option(help="Programs written per task, each for its own training item.")] = 4,
    train_items: Annotated[int, typer.Option(help="Training items per task; a candidate is scored on the others.")] = 5,
    test_items: Annotated[int, typer.Option(help="Held-out items per task, answered by every method.")] = 5,
    keep: Annotated[int, typer.Option(help="Programs kept per task (majority vote).")] = 1,
    per_item_programs: Annotated[bool, typer.Option(help="Also the CoGEX baseline: a fresh program per test item.")] = True,
    seed: Annotated[int, typer.Option(help="Draws the items, the candidates' items and the CRUXEval functions.")] = 0,
    temperature: Annotated[float, typer.Option()] = 0.0,
    top_p: Annotated[float, typer.Option()] = 0.95,
    max_tokens: Annotated[int, typer.Option()] = 384,
    prompt: Annotated[Optional[str], typer.Option(help="completion or chat; default: chat for chat models.")] = None,
    cache: Annotated[Optional[Path], typer.Option(help="Model-call cache (JSONL); default in the codeharness cache.")] = None,
    sandbox: Annotated[str, typer.Option(help="Where CRUXEval families' answers are computed.")] = "local",
    workers: Annotated[Optional[int], typer.Option(help="Parallel sandbox workers.")] = None,
    output_dir: Annotated[Path, typer.Option()] = Path("results"),
    run_dir: Annotated[Optional[Path], typer.Option()] = None,
):
    """For each task of the battery: write candidate programs on training items, score each by
    emulating it on the other training items, answer the test items with the best; next to
    zero-shot, few-shot (the same training items) and a fresh program per item."""
    @guarded
    def run():
        from codeharness.core import manifest
        from codeharness.core.errors import HarnessError
        from codeharness.core.records import CHAT, COMPLETION, SamplingConfig
        from codeharness.core.rundir import RunDir
        from codeharness.pipeline import cotacs
        from codeharness.pipeline import stages as pipeline

        at_least(1, max_tokens=max_tokens)
        if prompt not in (None, CHAT, COMPLETION):
            raise HarnessError(f"--prompt must be {CHAT} or {COMPLETION}, not {prompt!r}")
        search_config = cotacs.SearchConfig(candidates, train_items, test_items, keep, seed, per_item_programs)
        search_config.check()
        selectors = _selectors(battery)
        config = pipeline.RunConfig(
            task="cotacs", task_options={"battery": selectors, "cruxeval_path": cruxeval_path}, model=model,
            backend=backend or default_backend(), prompt_style=prompt,
            sampling=SamplingConfig(n=1, temperature=temperature, top_p=top_p, max_tokens=max_tokens, seed=seed),
        )
        families = _families(selectors, train_items, test_items, seed, cruxeval_path, sandbox, workers)
        identity = {**config.identity(), "search": vars(search_config)}
        run = RunDir(run_dir or output_folder(output_dir) / f"cotacs-{config.run_id()}")
        model_backend = pipeline.create_backend(config)
        try:
            with run.writer():
                run.open(identity, manifest.new_manifest(identity), overwrite=True)
                style = prompt or (CHAT if model_backend.supports_chat else COMPLETION)
                call_cache = cotacs.CallCache(cache or cotacs.default_cache_path(), model_backend.describe(),
                                              config.sampling)
                run.update_manifest({"model": model_backend.describe(), "prompt_style": style,
                                     "families": [f.name for f in families]})
                scores = cotacs.run_search(families, model_backend, config.sampling, call_cache, search_config,
                                           run, style)
        finally:
            model_backend.close()
        show_search(scores, run.path)

    run()


@app.command("battery")
def write_battery(
    out: Annotated[Path, typer.Option(help="The JSONL file to write.")],
    battery: Annotated[Optional[str], typer.Option(help=BATTERY_HELP)] = None,
    cruxeval_path: Annotated[Optional[str], typer.Option(help="CRUXEval's cruxeval.jsonl, or hf:NAME.")] = None,
    train_items: Annotated[int, typer.Option()] = 5,
    test_items: Annotated[int, typer.Option()] = 5,
    seed: Annotated[int, typer.Option()] = 0,
    sandbox: Annotated[str, typer.Option()] = "local",
    workers: Annotated[Optional[int], typer.Option()] = None,
):
    """Write the battery's tasks and items (training and test) as `cogex search --battery
    file:PATH` reads them."""
    @guarded
    def run():
        from codeharness.tasks import cotacs_battery

        chosen = _families(_selectors(battery), train_items, test_items, seed, cruxeval_path, sandbox, workers)
        cotacs_battery.write_battery(out, chosen)
        print(f"{len(chosen)} tasks, {sum(len(f.train) + len(f.test) for f in chosen)} items: {out}")

    run()


def show_search(scores: dict, run_path: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    methods = list(scores["macro"])
    table = Table("task", *methods, "search calls", title="CoTACS: test accuracy per task")
    for name, family in scores["families"].items():
        table.add_row(name, *(f"{100 * family[m]:.0f}%" for m in methods), str(family["model_calls"].get("search", 0)))
    table.add_row(f"macro ({scores['macro_over']} tasks)", *(f"{100 * scores['macro'][m]:.1f}%" for m in methods),
                  str(scores["model_calls"].get("search", 0)))
    console.print(table)
    calls = scores["model_calls"]
    console.print(f"model calls: {calls['total']} needed ({', '.join(f'{k} {v}' for k, v in calls.items() if k not in ('total', 'made', 'from_cache'))}); "
                  f"{calls['made']} made, {calls['from_cache']} from the cache")
    console.print(f"SFT data: {scores['sft']['examples']} examples in {scores['sft']['folder']}; "
                  f"trace and predictions in {run_path}")
