"""Commands for generated tests, the pass matrix, solution selection and DSTC preference
pairs: `gen-tests`, `matrix`, `select`, `prefs`. Heavy modules load inside the commands so
`codeharness --help` stays fast."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from harness.errors import HarnessError

RunDirArgument = Annotated[Path, typer.Argument(help="A run directory made by `generate` or `eval`.")]
NTests = Annotated[int, typer.Option(help="Test samples per problem.")]
TestTemperature = Annotated[float, typer.Option(help="Sampling temperature for tests.")]
TestTopP = Annotated[float, typer.Option(help="top-p for tests.")]
TestMaxTokens = Annotated[int, typer.Option(help="Most new tokens per test sample.")]
TestPrompt = Annotated[str, typer.Option(help="completion (CodeT's prompt, continued by the model) or chat.")]
TestsPerSample = Annotated[int, typer.Option(help="Asserts kept per test sample (CodeT: 5).")]
TestTimeout = Annotated[float, typer.Option(help="Seconds each generated test may run.")]
Sandbox = Annotated[str, typer.Option(help="local or docker.")]
Workers = Annotated[Optional[int], typer.Option(help="Parallel sandbox workers; default: number of cores.")]
Overwrite = Annotated[bool, typer.Option(help="Redo a stage made with other settings.")]


def register(app: typer.Typer) -> None:
    from harness.cli import TASK_OPTIONS, guarded

    app.command("gen-tests")(guarded(gen_tests))
    app.command("matrix")(guarded(matrix))
    app.command("select")(guarded(select))
    app.command("prefs", context_settings=TASK_OPTIONS)(guarded(prefs))


def gen_tests(
    run_dir: RunDirArgument,
    n_tests: NTests = 10, test_temperature: TestTemperature = 0.8, test_top_p: TestTopP = 0.95,
    test_max_tokens: TestMaxTokens = 300, test_prompt: TestPrompt = "completion",
    tests_per_sample: TestsPerSample = 5, seed: Annotated[int, typer.Option()] = 0,
    samples: Annotated[Optional[Path], typer.Option(help="Replay the test samples of this file (CodeT's released format) instead of sampling the run's model.")] = None,
    overwrite: Overwrite = False,
):
    """Have the run's model write tests for each problem (CodeT style); resumable."""
    from harness.selection.testgen import TestGenerationSettings

    settings = TestGenerationSettings(n=n_tests, temperature=test_temperature, top_p=test_top_p,
                                      max_tokens=test_max_tokens, seed=seed,
                                      prompt_style=test_prompt, tests_per_sample=tests_per_sample,
                                      samples=str(samples.resolve()) if samples else None)
    _generate_tests(run_dir, settings, overwrite)


def matrix(
    run_dir: RunDirArgument, test_timeout: TestTimeout = 1.0, sandbox: Sandbox = "local",
    workers: Workers = None, overwrite: Overwrite = False,
):
    """Run every distinct solution against every generated test (and the hidden tests, for
    ground truth); writes matrix.jsonl; resumable."""
    from harness.selection.matrix import MatrixSettings

    _build_matrix(run_dir, MatrixSettings(test_timeout_s=test_timeout), sandbox, workers, overwrite)


def select(
    run_dir: RunDirArgument,
    method: Annotated[str, typer.Option(help="Comma-separated: b4, codet, mbr_exec, maxpass, random.")] = "b4,codet,mbr_exec,maxpass,random",
    drop_unrunnable: Annotated[bool, typer.Option(help="Drop candidates whose program does not load.")] = False,
    alpha_xy: Annotated[float, typer.Option(help="B4's α_xy.")] = 1e3,
    beta0: Annotated[float, typer.Option(help="B4's β0.")] = 1e4,
):
    """pass@1 of the solution each method selects from the pass matrix, on all problems and
    on those where selection matters; writes selection.json."""
    from harness import pipeline
    from harness.rundir import RunDir, write_json_atomic
    from harness.selection.evaluate import SelectionOptions, evaluate_selection
    from harness.selection.matrix import load_matrices
    from harness.selection.runfiles import SELECTION

    options = SelectionOptions(methods=tuple(m.strip() for m in method.split(",") if m.strip()),
                               drop_unrunnable=drop_unrunnable, alpha_xy=alpha_xy, beta0=beta0)
    run = RunDir(run_dir)
    config, task = pipeline.task_of_run(run)
    problems = pipeline.load_problems(task, config.limit)
    result = evaluate_selection(load_matrices(run, problems), options)
    write_json_atomic(run.path / SELECTION, result)
    show_selection(result, run.path / SELECTION)


def prefs(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="Folder for the preference datasets (and the run, by default).")],
    task: Annotated[Optional[str], typer.Option(help="Benchmark to sample a new run for.")] = None,
    n: Annotated[int, typer.Option(help="Solution samples per problem (with --task).")] = 10,
    temperature: Annotated[float, typer.Option(help="Sampling temperature of the solutions (with --task).")] = 0.8,
    run_dir: Annotated[Optional[Path], typer.Option(help="The run: where --task makes it (default: OUT/run), or an existing one.")] = None,
    n_tests: NTests = 10, test_temperature: TestTemperature = 0.8, test_top_p: TestTopP = 0.95,
    test_max_tokens: TestMaxTokens = 300, test_prompt: TestPrompt = "completion",
    tests_per_sample: TestsPerSample = 5, test_timeout: TestTimeout = 1.0,
    sandbox: Sandbox = "local", workers: Workers = None, overwrite: Overwrite = False,
):
    """DSTC preference pairs (DPO and KTO) from the pass matrix of a run. With --task, the
    run is sampled first; every other option (--model, --backend, --limit, --data-path,
    --max-tokens, task options, ...) is `codeharness generate`'s, and all stages resume.
    With --run-dir alone, the run's tests and matrix are used as made; missing stages are
    made with the options given."""
    from harness import pipeline
    from harness.prefs import preference_pairs, write_preferences
    from harness.rundir import RunDir
    from harness.selection.matrix import MatrixSettings
    from harness.selection.testgen import TestGenerationSettings

    if task is not None:
        run_dir = run_dir or out / "run"
        _sample_solutions([*ctx.args, "--task", task, "--n", str(n), "--temperature", str(temperature),
                           "--run-dir", str(run_dir), *(["--overwrite"] if overwrite else [])])
    elif run_dir is None or ctx.args:
        raise HarnessError("give --task (and `codeharness generate` options) to sample a new run, "
                           "or --run-dir for an existing one")
    run = RunDir(run_dir)
    made = run.manifest()
    if task is not None or "test_generation" not in made:
        _generate_tests(run_dir, TestGenerationSettings(
            n=n_tests, temperature=test_temperature, top_p=test_top_p, max_tokens=test_max_tokens,
            prompt_style=test_prompt, tests_per_sample=tests_per_sample), overwrite)
    if task is not None or "matrix" not in made:
        _build_matrix(run_dir, MatrixSettings(test_timeout_s=test_timeout), sandbox, workers, overwrite)
    config, chosen_task = pipeline.task_of_run(run)
    pairs, statistics = preference_pairs(run, chosen_task, pipeline.load_problems(chosen_task, config.limit))
    write_preferences(out, pairs, statistics)
    show_pair_statistics(statistics, out)


# ------------------------------------------------------------------ stages


def _sample_solutions(generate_arguments: list[str]) -> None:
    """`codeharness generate` with these arguments: prefs takes all its options as they are."""
    import typer.main

    from harness.cli import app

    code = typer.main.get_command(app).main(["generate", *generate_arguments],
                                             prog_name="codeharness", standalone_mode=False)
    if code:
        raise typer.Exit(code)


def _generate_tests(run_dir: Path, settings, overwrite: bool) -> None:
    import functools

    from harness import pipeline
    from harness.backends import open_backend
    from harness.cli import open_model
    from harness.rundir import RunDir
    from harness.selection.testgen import generate_tests

    run = RunDir(run_dir)
    config, task = pipeline.task_of_run(run)
    if settings.samples:
        open_tests_backend = functools.cache(lambda: open_backend("replay", samples=settings.samples))
    elif config.backend == "replay":
        raise HarnessError(f"{run.path} replays recorded solutions; give the tests to replay with "
                           "--samples, or make the run with a model backend")
    else:
        open_tests_backend = functools.cache(lambda: open_model(config))
    problems = pipeline.load_problems(task, config.limit)
    generate_tests(run, task, problems, settings, open_tests_backend, overwrite)


def _build_matrix(run_dir: Path, settings, sandbox: str, workers: int | None,
                  overwrite: bool) -> None:
    from harness import pipeline
    from harness.cli import open_sandbox_from_cli
    from harness.rundir import RunDir
    from harness.selection.matrix import build_matrix

    run = RunDir(run_dir)
    config, task = pipeline.task_of_run(run)
    problems = pipeline.load_problems(task, config.limit)
    with open_sandbox_from_cli(sandbox, workers) as box:
        build_matrix(run, task, problems, box, settings, overwrite)


# ------------------------------------------------------------------ output


def show_selection(result: dict, path: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="selection from the pass matrix")
    for column in ("tests", "method", "pass@1, all", "problems", "pass@1, selection matters",
                   "problems "):
        table.add_column(column, justify="left" if column in ("tests", "method") else "right")
    for group, by_method in result["summary"].items():
        for method, totals in by_method.items():
            every, matters = totals["all"], totals["selection_matters"]
            table.add_row(group, method, _percent(every["pass@1"]), str(every["problems"]),
                          _percent(matters["pass@1"]), str(matters["problems"]))
    console = Console()
    console.print(table)
    counts, options = result["candidates"], result["options"]
    kept = "dropped" if options["drop_unrunnable"] else "kept"
    console.print(f"candidates: {counts['total']} distinct programs, {counts['unrunnable']} that "
                  f"do not load ({kept}); B4 α_xy={options['alpha_xy']:g}, β0={options['beta0']:g}",
                  highlight=False)
    console.print(f"selection: {path}")


def show_pair_statistics(statistics: dict, out: Path) -> None:
    from rich.console import Console

    console = Console()
    console.print(f"{statistics['pairs']} preference pairs from {statistics['problems']} problems "
                  f"(skipped: {', '.join(f'{k} {v}' for k, v in statistics['skipped'].items())})",
                  highlight=False)
    for group, truth in statistics["ground_truth"].items():
        console.print(f"{group} tests: chosen code correct {_share(truth['chosen_code_correct'])}, "
                      f"rejected code incorrect {_share(truth['rejected_code_incorrect'])}, "
                      f"both {_share(truth['both'])}", highlight=False)
    console.print(f"preference data: {out}")


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.2f}%"


def _share(count: dict) -> str:
    return f"{count['count']} ({_percent(count['share'])})"
