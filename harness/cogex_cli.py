"""`codeharness cogex search`: CoTACS program search with its baselines."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

app = typer.Typer(help="CoGEX: program emulation and program search.", no_args_is_help=True)


@app.command()
def search(
    task: Annotated[str, typer.Option(help="A CoGEX-style task (cogex).")] = "cogex",
    data_path: Annotated[Optional[str], typer.Option(help="Local JSON/JSONL, or hf:DATASET.")] = None,
    model: Annotated[Optional[str], typer.Option(help="Default: the embedded SmolLM2-135M-Instruct.")] = None,
    backend: Annotated[Optional[str], typer.Option(help="hf, vllm or openai.")] = None,
    candidates: Annotated[int, typer.Option(help="Programs to write, each for one training item.")] = 8,
    train_items: Annotated[int, typer.Option(help="Training items each candidate is emulated on.")] = 10,
    test_items: Annotated[int, typer.Option(help="Items held out and answered.")] = 20,
    keep: Annotated[int, typer.Option(help="Programs kept (k) for majority voting.")] = 1,
    seed: Annotated[int, typer.Option()] = 0,
    temperature: Annotated[float, typer.Option()] = 0.0,
    top_p: Annotated[float, typer.Option()] = 0.95,
    max_tokens: Annotated[int, typer.Option()] = 384,
    prompt: Annotated[Optional[str], typer.Option(help="completion or chat; default: chat for chat models.")] = None,
    cache: Annotated[Optional[Path], typer.Option(help="Model-call cache (JSONL); default in the codeharness cache.")] = None,
    output_dir: Annotated[Path, typer.Option()] = Path("results"),
    run_dir: Annotated[Optional[Path], typer.Option()] = None,
):
    """Search for programs that work across the task's training items, answer its test items
    with the best ones, and compare with zero-shot answers and one fresh program per item."""
    from harness.cli import default_backend, guarded, open_model, show_cogex_search

    @guarded
    def run():
        from harness import cogex_search, manifest, pipeline
        from harness.backends.base import SamplingConfig
        from harness.rundir import RunDir
        from tasks import create_task

        config = pipeline.RunConfig(
            task=task, task_options={"data_path": data_path} if data_path else {}, model=model,
            backend=backend or default_backend(), prompt_style=prompt,
            sampling=SamplingConfig(n=1, temperature=temperature, top_p=top_p,
                                    max_tokens=max_tokens, seed=seed),
        )
        search_config = cogex_search.SearchConfig(candidates, train_items, test_items, keep, seed)
        chosen = create_task(task, **config.task_options)
        problems = chosen.load()
        identity = {**config.identity(), "search": vars(search_config)}
        run = RunDir(run_dir or output_dir / f"cogex-search-{config.run_id()}")
        run.open(identity, manifest.new_manifest(identity), overwrite=True)
        model_backend = open_model(config)
        try:
            call_cache = cogex_search.CallCache(cache or cogex_search.default_cache_path(),
                                                model_backend.describe(), config.sampling)
            run.update_manifest({"model": model_backend.describe(), "data": chosen.data_sources()})
            scores = cogex_search.run_search(chosen, problems, model_backend, config.sampling,
                                             call_cache, search_config, run, prompt)
        finally:
            model_backend.close()
        show_cogex_search(scores, run.path)

    run()
