"""Commands for generated tests, the pass matrix, solution selection and DSTC preference
pairs: `gen-tests`, `matrix`, `select`, `prefs`. Heavy modules load inside the commands so
`codeharness --help` stays fast."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from codeharness.cli.common import TASK_OPTIONS, at_least, guarded, open_sandbox
from codeharness.cli.run import generate_app
from codeharness.core.errors import HarnessError

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
    from codeharness.pipeline.testgen import TestGenerationSettings

    settings = TestGenerationSettings(test_sampling(n_tests, test_temperature, test_top_p, test_max_tokens, seed),
                                      prompt_style=test_prompt, tests_per_sample=tests_per_sample,
                                      samples=str(samples.resolve()) if samples else None)
    _generate_tests(run_dir, settings, overwrite)


def matrix(
    run_dir: RunDirArgument, test_timeout: TestTimeout = 1.0, sandbox: Sandbox = "local",
    workers: Workers = None, overwrite: Overwrite = False,
):
    """Run every distinct solution against every generated test (and the hidden tests, for
    ground truth); writes matrix.jsonl; resumable."""
    from codeharness.pipeline.matrix import MatrixSettings

    _build_matrix(run_dir, MatrixSettings(test_timeout_s=test_timeout), sandbox, workers, overwrite)


def select(
    run_dir: RunDirArgument,
    method: Annotated[str, typer.Option(help="Comma-separated: b4, codet, mbr_exec, maxpass, random.")] = "b4,codet,mbr_exec,maxpass,random",
    keep_unrunnable: Annotated[bool, typer.Option(help="Keep programs that fail to load as candidates (rows passing nothing); by default they are left out, as in B4's authors' code.")] = False,
    alpha_xy: Annotated[str, typer.Option(help="B4's α_xy; comma-separated values sweep it.")] = "1e3",
    beta0: Annotated[str, typer.Option(help="B4's β0; comma-separated values sweep it in one table, e.g. 1e4,1e5,1e6.")] = "1e4",
):
    """pass@1 of the solution each method selects from the pass matrix, on all problems and
    on those where selection matters; writes selection.json."""
    from codeharness.core.rundir import SELECTION, RunDir, write_json_atomic
    from codeharness.pipeline import stages as pipeline
    from codeharness.pipeline.matrix import load_matrices
    from codeharness.pipeline.selection import (
        SelectionOptions,
        evaluate_selection,
        parse_numbers,
    )

    options = SelectionOptions(methods=tuple(m.strip() for m in method.split(",") if m.strip()),
                               keep_unrunnable=keep_unrunnable,
                               alpha_xy=parse_numbers(alpha_xy, "alpha-xy"), beta0=parse_numbers(beta0, "beta0"))
    run = RunDir(run_dir)
    config, task = pipeline.task_of_run(run)
    problems = pipeline.load_problems(task, config.limit, config.problems)
    result = evaluate_selection(load_matrices(run, problems), options)
    with run.writer():
        write_json_atomic(run.path / SELECTION, result)
    show_selection(result, run.path / SELECTION)


def prefs(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="Folder for the preference datasets (and the run, by default).")],
    task: Annotated[Optional[str], typer.Option(help="Benchmark to sample a new run for; its training problems unless task options say otherwise (MBPP: --split train+prompt).")] = None,
    n: Annotated[int, typer.Option(help="Solution samples per problem (with --task).")] = 10,
    temperature: Annotated[float, typer.Option(help="Sampling temperature of the solutions (with --task).")] = 0.8,
    run_dir: Annotated[Optional[Path], typer.Option(help="The run: where --task makes it (default: OUT/run), or an existing one.")] = None,
    from_test_split: Annotated[bool, typer.Option("--from-test-split", help="Build pairs from evaluation problems too (a test split, or a task without a training split): refused without it.")] = False,
    n_tests: NTests = 10, test_temperature: TestTemperature = 0.8, test_top_p: TestTopP = 0.95,
    test_max_tokens: TestMaxTokens = 300, test_prompt: TestPrompt = "completion",
    tests_per_sample: TestsPerSample = 5, test_timeout: TestTimeout = 1.0,
    sandbox: Sandbox = "local", workers: Workers = None, overwrite: Overwrite = False,
):
    """DSTC preference pairs (DPO and KTO) from the pass matrix of a run. With --task, the
    run is sampled first, on the task's training problems unless task options say otherwise;
    every other option (--model, --backend, --limit, --data-path, --max-tokens, task options,
    ...) is `codeharness generate`'s, and all stages resume. With --run-dir alone, the run's
    tests and matrix are used as made; missing stages are made with the options given. Pairs
    from evaluation problems are refused unless --from-test-split."""
    from codeharness.core.rundir import RunDir
    from codeharness.pipeline import stages as pipeline
    from codeharness.pipeline.matrix import MatrixSettings
    from codeharness.pipeline.prefs import (
        check_pair_sources,
        preference_pairs,
        record_pair_sources,
        write_preferences,
    )
    from codeharness.pipeline.testgen import TestGenerationSettings

    if task is not None:
        run_dir = run_dir or out / "run"
        arguments = [*ctx.args, *_training_defaults(task, ctx.args, from_test_split)]
        _sample_solutions([*arguments, "--task", task, "--n", str(n), "--temperature", str(temperature),
                           "--run-dir", str(run_dir), *(["--overwrite"] if overwrite else [])])
    elif run_dir is None or ctx.args:
        raise HarnessError("give --task (and `codeharness generate` options) to sample a new run, "
                           "or --run-dir for an existing one")
    run = RunDir(run_dir)
    config, chosen_task = pipeline.task_of_run(run)
    problems = pipeline.load_problems(chosen_task, config.limit, config.problems)
    outside = check_pair_sources(chosen_task, problems, from_test_split)
    made = run.manifest()
    if task is not None or "test_generation" not in made:
        _generate_tests(run_dir, TestGenerationSettings(
            test_sampling(n_tests, test_temperature, test_top_p, test_max_tokens),
            prompt_style=test_prompt, tests_per_sample=tests_per_sample), overwrite)
    if task is not None or "matrix" not in made:
        _build_matrix(run_dir, MatrixSettings(test_timeout_s=test_timeout), sandbox, workers, overwrite)
    pairs, statistics = preference_pairs(run, chosen_task, problems)
    with run.writer():
        sources = record_pair_sources(run, chosen_task, out, pairs, problems, outside, from_test_split)
    write_preferences(out, pairs, statistics, sources)
    show_pair_statistics(statistics, out, sources)


def _training_defaults(task: str, arguments: list[str], from_test_split: bool) -> list[str]:
    """The task's training options that the arguments do not set, as arguments; refuses,
    before anything is sampled, options that select evaluation problems (unless asked for)."""
    from codeharness.pipeline.prefs import check_pair_sources
    from codeharness.tasks import create_task

    training = dict(create_task(task).training_options)
    given = {key: value for key in [*training, "data_path"]
             if (value := _argument(arguments, key)) is not None}
    if not from_test_split:
        chosen = create_task(task, **{**training, **given})
        check_pair_sources(chosen, chosen.load() if training else [], from_test_split)
    return [part for key, value in training.items() if key not in given
            for part in (f"--{key.replace('_', '-')}", str(value))]


def _argument(arguments: list[str], key: str) -> str | None:
    """The value of `--key value` or `--key=value` among the arguments, if given."""
    flag = f"--{key.replace('_', '-')}"
    for index, argument in enumerate(arguments):
        if argument == flag and index + 1 < len(arguments):
            return arguments[index + 1]
        if argument.startswith(flag + "="):
            return argument[len(flag) + 1:]
    return None


# ------------------------------------------------------------------ stages


def test_sampling(n: int, temperature: float, top_p: float, max_tokens: int, seed: int = 0):
    from codeharness.core.records import SamplingConfig

    at_least(1, n_tests=n, test_max_tokens=max_tokens)
    return SamplingConfig(n=n, temperature=temperature, top_p=top_p, max_tokens=max_tokens, seed=seed)


def _sample_solutions(generate_arguments: list[str]) -> None:
    """`codeharness generate` with these arguments: prefs takes all its options as they are."""
    import typer.main

    # An app of one command is that command itself: the arguments go straight to it.
    code = typer.main.get_command(generate_app()).main(generate_arguments, prog_name="codeharness generate",
                                                        standalone_mode=False)
    if code:
        raise typer.Exit(code)


def _generate_tests(run_dir: Path, settings, overwrite: bool) -> None:
    from dataclasses import replace

    from codeharness.core.rundir import RunDir
    from codeharness.pipeline import stages as pipeline
    from codeharness.pipeline.testgen import generate_tests

    run = RunDir(run_dir)
    config, task = pipeline.task_of_run(run)
    if settings.samples:
        config = replace(config, backend="replay", model=None, backend_options={"samples": settings.samples},
                         runtime_options={})
    backend = pipeline.create_backend(config)
    if backend.replays_samples and not settings.samples:
        raise HarnessError(f"{run.path} replays recorded solutions; give the tests to replay with "
                           "--samples, or make the run with a model backend")
    problems = pipeline.load_problems(task, config.limit, config.problems)
    try:
        with run.writer():
            generate_tests(run, task, problems, settings, backend, overwrite)
    finally:
        backend.close()


def _build_matrix(run_dir: Path, settings, sandbox: str, workers: int | None,
                  overwrite: bool) -> None:
    from codeharness.core.rundir import RunDir
    from codeharness.pipeline import stages as pipeline
    from codeharness.pipeline.matrix import build_matrix

    run = RunDir(run_dir)
    config, task = pipeline.task_of_run(run)
    problems = pipeline.load_problems(task, config.limit, config.problems)
    with run.writer(), open_sandbox(sandbox, workers) as box:
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
    if options["keep_unrunnable"]:
        handled = "kept as candidates that pass nothing"
    else:
        handled = "left out, as in B4's authors' code; --keep-unrunnable keeps them"
        if counts["problems_left_without_candidates"]:
            handled += f"; {counts['problems_left_without_candidates']} problem(s) left without any, counted unsolved"
    console.print(f"candidates: {counts['total']} distinct programs, {counts['unrunnable']} that "
                  f"do not load ({handled})", highlight=False)
    console.print(f"B4 priors: α_xy={_numbers(options['alpha_xy'])}, β0={_numbers(options['beta0'])}",
                  highlight=False)
    console.print(f"selection: {path}")


def show_pair_statistics(statistics: dict, out: Path, sources: dict | None = None) -> None:
    from rich.console import Console

    console = Console()
    console.print(f"{statistics['pairs']} preference pairs from {statistics['problems']} problems "
                  f"(skipped: {', '.join(f'{k} {v}' for k, v in statistics['skipped'].items())})",
                  highlight=False)
    for group, truth in statistics["ground_truth"].items():
        console.print(f"{group} tests: chosen code correct {_share(truth['chosen_code_correct'])}, "
                      f"rejected code incorrect {_share(truth['rejected_code_incorrect'])}, "
                      f"both {_share(truth['both'])}", highlight=False)
    if sources and sources["evaluation_problems_in_pairs"]:
        console.print(f"[yellow]{len(sources['evaluation_problems_in_pairs'])} pair(s) come from "
                      "evaluation problems (--from-test-split)[/]", highlight=False)
    console.print(f"preference data: {out} (the problems that fed the pairs: pair_stats.json and the "
                  "run's manifest)", highlight=False)


def _numbers(value: float | list[float]) -> str:
    from codeharness.pipeline.selection import short_number

    return ",".join(short_number(v) for v in (value if isinstance(value, list) else [value]))


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.2f}%"


def _share(count: dict) -> str:
    return f"{count['count']} ({_percent(count['share'])})"
