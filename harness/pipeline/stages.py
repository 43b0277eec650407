"""The stages: generate -> execute -> score. Each reads the previous stage's records from the
run directory and appends its own, so any stage can be rerun alone and a killed run resumes
with nothing lost or done twice. `generate_and_execute` runs the first two at once: each
sample goes to the sandbox as soon as its generation record is written. Tasks, backends,
sandboxes and scorers are reached only through their protocols."""

from __future__ import annotations

import fnmatch
import hashlib
import json
import queue
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from codeharness.backends.base import ModelBackend
from codeharness.core import manifest as manifest_info
from codeharness.core import registry
from codeharness.core.errors import HarnessError
from codeharness.core.progress import progress_bar
from codeharness.core.records import (
    CHAT,
    COMPLETION,
    Completion,
    Execution,
    Generation,
    GenerationRequest,
    Problem,
    Prompt,
    SamplingConfig,
    Status,
    from_dict,
    to_dict,
)
from codeharness.core.rundir import JsonlLog, RunDir
from codeharness.sandbox import Sandbox
from codeharness.sandbox.jobs import Job, Outcome, TestOutcome
from codeharness.scorers.base import Scorer
from codeharness.tasks import create_task
from codeharness.tasks.base import Judgement, Task


@dataclass
class RunConfig:
    """Everything that decides a run's records; a run directory belongs to exactly one."""

    task: str
    task_options: dict = field(default_factory=dict)
    model: str | None = None
    backend: str = "hf"
    backend_options: dict = field(default_factory=dict)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    prompt_style: str | None = None
    limit: int | None = None
    problems: list[str] | None = None  # problem ids or shell patterns (HumanEval/1*)
    # How the model is reached, not what it answers (batch size, server address, concurrency,
    # timeouts): left out of the identity, so a run can resume with other values, e.g. a
    # smaller batch after running out of GPU memory.
    runtime_options: dict = field(default_factory=dict)

    def identity(self) -> dict:
        data = asdict(self)
        del data["runtime_options"]
        if data["problems"] is None:  # runs made before the problem filter keep their ids
            del data["problems"]
        return json.loads(json.dumps(data, sort_keys=True, default=str))

    def run_id(self) -> str:
        digest = hashlib.sha256(json.dumps(self.identity(), sort_keys=True).encode()).hexdigest()
        model = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(self.model or "default").name)[-40:]
        return f"{self.task}-{model}-{self.backend}-{digest[:8]}"

    @classmethod
    def from_identity(cls, data: dict) -> RunConfig:
        return cls(**{**data, "sampling": SamplingConfig(**data["sampling"])})


def split_backend_options(name: str, given: dict) -> tuple[dict, dict]:
    """A backend's options as (identity, runtime); an option it does not take is an error."""
    backend_class = registry.backends.get(name)
    refused = sorted(set(given) - _options_of(backend_class))
    if refused:
        takers = [other for other in registry.backends.names()
                  if set(refused) <= _options_of(registry.backends.get(other))]
        hint = f" (use {' or '.join('--backend ' + other for other in takers)})" if takers else ""
        raise HarnessError(f"backend {name!r} takes no "
                           f"{', '.join('--' + option.replace('_', '-') for option in refused)}{hint}")
    identity = {k: v for k, v in given.items() if k in backend_class.identity_options}
    return identity, {k: v for k, v in given.items() if k not in identity}


def _options_of(backend_class: type[ModelBackend]) -> set[str]:
    return {*backend_class.identity_options, *backend_class.runtime_options}


def create_backend(config: RunConfig) -> ModelBackend:
    options = {**config.backend_options, **config.runtime_options}
    if config.model is not None:
        options["model"] = config.model
    return registry.backends.get(config.backend)(**options)


def load_problems(task: Task, limit: int | None, patterns: list[str] | None = None) -> list[Problem]:
    return select_problems(task, task.load(), limit, patterns)


def select_problems(task: Task, problems: list[Problem], limit: int | None,
                    patterns: list[str] | None) -> list[Problem]:
    """The run's problems: those matching any pattern (all without), then the first `limit`."""
    if not problems:
        raise HarnessError(f"task {task.name!r} loaded no problems")
    chosen = problems
    if patterns:
        chosen = [p for p in problems if any(fnmatch.fnmatchcase(p.id, pattern) for pattern in patterns)]
        if not chosen:
            raise HarnessError(f"--problems {','.join(patterns)} matches none of task {task.name!r}'s "
                               f"problems (ids look like {problems[0].id!r})")
    return chosen[:limit] if limit else chosen


def check_prompt_style(task: Task, requested: str | None) -> None:
    if requested and requested not in task.prompt_styles:
        raise HarnessError(f"task {task.name!r} has no prompt style {requested!r}; "
                           f"choose one of {', '.join(task.prompt_styles)}")


def choose_prompt_style(task: Task, requested: str | None, backend: ModelBackend) -> str:
    if backend.prompt_style:
        return backend.prompt_style
    if requested:
        check_prompt_style(task, requested)
        return requested
    if backend.supports_chat and CHAT in task.prompt_styles:
        return CHAT
    return task.prompt_styles[0] if task.prompt_styles[0] != CHAT else COMPLETION


def open_run(run: RunDir, config: RunConfig, overwrite: bool, task_problems: int | None = None) -> None:
    """Create or resume the run. `task_problems`: how many problems the whole task has (what
    a complete run scores); without it, the problems the stages are given are the task."""
    run.open(config.identity(), manifest_info.new_manifest(config.identity()), overwrite)
    if task_problems is not None:
        run.update_manifest({"task_problems": task_problems})


def task_of_run(run: RunDir) -> tuple[RunConfig, Task]:
    config = RunConfig.from_identity(run.manifest()["config"])
    return config, create_task(config.task, **config.task_options)


# ------------------------------------------------------------------ generate


def missing_requests(log: JsonlLog, counts: dict[str, int],
                     prompt_of: Callable[[str], Prompt]) -> list[GenerationRequest]:
    """One request per problem that misses samples, asking only for those."""
    requests = []
    for problem_id, count in counts.items():
        missing = [i for i in range(count) if (problem_id, i) not in log]
        if missing:
            requests.append(GenerationRequest(problem_id, prompt_of(problem_id), missing))
    return requests


def sample_into(log: JsonlLog, requests: list[GenerationRequest], backend: ModelBackend,
                sampling: SamplingConfig, record_of: Callable[[GenerationRequest, Completion], dict],
                label: str) -> None:
    """The generate stage, for any kind of sample (solutions, tests): ask the backend for
    every request and append each sample's record as soon as it arrives."""
    by_key = {(request.problem_id, index): request for request in requests for index in request.sample_indices}
    with progress_bar(label, len(by_key)) as advance:
        def on_completion(completion: Completion) -> None:
            log.append(record_of(by_key[completion.problem_id, completion.sample_index], completion))
            advance()

        backend.generate(requests, sampling, on_completion)


def shown_prompt(prompt: Prompt, completion: Completion) -> str | list[dict]:
    """The prompt as the model saw it (after any chat template), for the records."""
    if completion.rendered_prompt:
        return completion.rendered_prompt
    return prompt.text if prompt.text is not None else (prompt.messages or [])


def generate(run: RunDir, config: RunConfig, task: Task, problems: list[Problem],
             backend: ModelBackend) -> None:
    """Ask the model for every sample the run does not have yet, writing each as it arrives.
    The model is loaded only when something is missing, so a finished stage is free."""
    log = run.generations()
    plan = _plan_generation(run, config, task, problems, backend, log)
    if plan is None:
        return
    requests, record_of = plan
    run.update_manifest({"generation_started": manifest_info.now()}, section="timestamps")
    sample_into(log, requests, backend, config.sampling, record_of, "generating")
    run.update_manifest({"generation_finished": manifest_info.now()}, section="timestamps")


def _plan_generation(run: RunDir, config: RunConfig, task: Task, problems: list[Problem],
                     backend: ModelBackend, log: JsonlLog):
    """The requests for the samples the run lacks and how a sample becomes its record; None
    when nothing is missing. Records the plan in the manifest."""
    counts = backend.sample_counts(problems, config.sampling.n)
    check_coverage(counts, problems, backend)
    run.update_manifest({"sample_counts": counts})
    if all((pid, i) in log for pid, count in counts.items() for i in range(count)):
        return None
    style = choose_prompt_style(task, config.prompt_style, backend)
    by_id = {p.id: p for p in problems}
    requests = missing_requests(log, counts, lambda pid: task.build_prompt(by_id[pid], style))
    run.update_manifest({"model": backend.describe(), "prompt_style": style, "data": task.data_sources()})

    def record_of(request: GenerationRequest, completion: Completion) -> dict:
        return to_dict(_generation_record(task, by_id[request.problem_id], request.prompt,
                                          completion, style))

    return requests, record_of


def check_coverage(counts: dict[str, int], problems: list[Problem], backend: ModelBackend) -> None:
    """A run scores every problem it selected: samples that cover only some of them are
    refused, so one lucky sample cannot stand for a whole benchmark."""
    uncovered = [p.id for p in problems if not counts.get(p.id)]
    if uncovered:
        raise HarnessError(
            f"the {backend.name} backend has samples for {len(problems) - len(uncovered)} of the "
            f"{len(problems)} selected problems (none for {', '.join(uncovered[:5])}"
            f"{', ...' if len(uncovered) > 5 else ''}); score a subset by narrowing the task "
            "with --limit N or --problems ID[,ID...]")


def plays_in_rounds(task: Task, config: RunConfig) -> bool:
    """True for a prompt style whose prompts depend on earlier verdicts (P3's bootstrap), or
    for any style of a task whose every style does (DIA's tool conversations)."""
    if config.prompt_style is None:
        return bool(task.round_styles) and set(task.prompt_styles) <= set(task.round_styles)
    return config.prompt_style in task.round_styles


def generate_in_rounds(run: RunDir, config: RunConfig, task: Task, problems: list[Problem],
                       backend: ModelBackend, sandbox: Sandbox) -> None:
    """Alternate execution and generation: execute what is pending, let the task plan the
    next round from the run's records (`task.plan_round`), generate it, and repeat until the
    task plans nothing. The plan depends on the records alone, so a killed run resumes.
    A round may also settle records without the model (a conversation's final answer, from
    its turns): they are written as planned. A task's step problems (a conversation's turns)
    are generated and executed with the others, and never scored."""
    steps = task.step_problems(problems)
    by_id = {p.id: p for p in [*problems, *steps]}
    # An earlier attempt's style first: asking the backend may load the model, and a resumed
    # conversation must go on in the style it began in.
    style = config.prompt_style or run.manifest().get("prompt_style") or choose_prompt_style(task, None, backend)
    described = False
    while True:
        execute(run, task, [*problems, *steps], sandbox)
        planned = task.plan_round(problems, [from_dict(Generation, g) for g in run.generations()],
                                  [from_dict(Execution, e) for e in run.executions()], config.sampling,
                                  style=style)
        if not planned:
            return
        settled = [record for record in planned if isinstance(record, Generation)]
        requests = [request for request in planned if isinstance(request, GenerationRequest)]
        if settled:
            log = run.generations()
            for record in settled:
                log.append(to_dict(record))
        if not requests:
            continue
        if not described:
            run.update_manifest({"model": backend.describe(), "prompt_style": style,
                                 "data": task.data_sources()})
            described = True
        sample_into(run.generations(), requests, backend, config.sampling,
                    lambda request, completion: to_dict(_generation_record(
                        task, by_id[request.problem_id], request.prompt, completion, style)),
                    "generating")


def _generation_record(task: Task, problem: Problem, prompt: Prompt, completion: Completion,
                       style: str) -> Generation:
    return Generation(
        task=task.name,
        problem_id=problem.id,
        sample_index=completion.sample_index,
        prompt=shown_prompt(prompt, completion),
        completion=completion.text,
        program=task.extract_program(problem, completion.text, style),
        finish_reason=completion.finish_reason,
        truncated=completion.finish_reason == "length",
        prompt_tokens=completion.prompt_tokens,
        completion_tokens=completion.completion_tokens,
        latency_s=completion.latency_s,
    )


# ------------------------------------------------------------------ execute


def execute(run: RunDir, task: Task, problems: list[Problem], sandbox: Sandbox) -> None:
    """Run every generation that has no execution record yet."""
    executions = run.executions()
    by_id = {p.id: p for p in problems}
    pending = _unexecuted(run, executions, by_id)
    if not pending:
        return
    _start_execution(run, task, [by_id[i] for i in sorted({g.problem_id for g in pending})], sandbox)
    runner = _Executor(task, by_id, executions)
    with progress_bar("executing", len(pending)) as advance:
        runner.run(sandbox, iter(pending), advance)
    run.update_manifest({"execution_finished": manifest_info.now()}, section="timestamps")


# At most this many generated samples wait for the sandbox; the model waits beyond it.
OVERLAP_QUEUE = 256
_DONE = object()  # the end of the generated samples


def generate_and_execute(run: RunDir, config: RunConfig, task: Task, problems: list[Problem],
                         backend: ModelBackend, sandbox: Sandbox,
                         queue_size: int = OVERLAP_QUEUE) -> None:
    """`generate` and `execute` at once: each sample goes to the sandbox as soon as its
    generation record is written (through a bounded queue: when the sandbox falls that far
    behind, the model's callback waits), and its execution record is written when its
    outcome comes back, so the run takes about as long as the slower stage. Generations an
    earlier attempt left unexecuted go first. A run killed at any moment resumes as after
    either stage: every execution record follows its generation record, and a generation
    written but not yet executed is executed on resume. Records are appended by one thread
    per file: generations by the model's callback, executions by the executing thread."""
    generations = run.generations()
    executions = run.executions()
    by_id = {p.id: p for p in problems}
    plan = _plan_generation(run, config, task, problems, backend, generations)
    if plan is None:  # everything is generated: what is left is the execute stage
        execute(run, task, problems, sandbox)
        return
    requests, record_of = plan
    pending = _unexecuted(run, executions, by_id)
    _start_execution(run, task, problems, sandbox)
    run.update_manifest({"generation_started": manifest_info.now()}, section="timestamps")
    waiting: queue.Queue = queue.Queue(maxsize=queue_size)
    runner = _Executor(task, by_id, executions)
    failure: list[BaseException] = []

    def samples() -> Iterator[Generation]:
        yield from pending
        while not runner.stopped.is_set():
            try:
                item = waiting.get(timeout=0.2)
            except queue.Empty:
                continue
            if item is _DONE:
                return
            yield item

    total = len(pending) + sum(len(r.sample_indices) for r in requests)
    with progress_bar("generating and executing", total) as advance:
        def execute_all() -> None:
            try:
                runner.run(sandbox, samples(), advance)
            except BaseException as exc:  # noqa: BLE001 - stops the generation, raised there
                failure.append(exc)
                runner.stopped.set()

        executor = threading.Thread(target=execute_all, name="execute", daemon=True)
        executor.start()
        request_of = {request.problem_id: request for request in requests}

        def on_completion(completion: Completion) -> None:
            record = record_of(request_of[completion.problem_id], completion)
            generations.append(record)
            while not runner.stopped.is_set():
                try:
                    waiting.put(from_dict(Generation, record), timeout=0.2)
                    return
                except queue.Full:
                    continue
            raise HarnessError("execution stopped") from (failure[0] if failure else None)

        try:
            backend.generate(requests, config.sampling, on_completion)
        except BaseException:
            runner.stopped.set()  # no record is written from here on
            if failure:
                raise failure[0] from None
            raise
        run.update_manifest({"generation_finished": manifest_info.now()}, section="timestamps")
        while executor.is_alive():
            try:
                waiting.put(_DONE, timeout=0.2)
                break
            except queue.Full:
                continue
        executor.join()
    if failure:
        raise failure[0]
    run.update_manifest({"execution_finished": manifest_info.now()}, section="timestamps")


def _unexecuted(run: RunDir, executions: JsonlLog, by_id: dict[str, Problem]) -> list[Generation]:
    return [from_dict(Generation, g) for g in run.generations()
            if (g["problem_id"], g["sample_index"]) not in executions and g["problem_id"] in by_id]


def _start_execution(run: RunDir, task: Task, problems: list[Problem], sandbox: Sandbox) -> None:
    sandbox.require(task.environment)
    run.update_manifest({"sandbox": sandbox.describe()})
    run.update_manifest({"execution_started": manifest_info.now()}, section="timestamps")
    task.prepare(problems, sandbox)


class _Executor:
    """Turns generations into jobs, runs them and appends one execution record per sample;
    once `stopped` is set it writes nothing more (the run was interrupted)."""

    def __init__(self, task: Task, by_id: dict[str, Problem], executions: JsonlLog):
        self.task = task
        self.by_id = by_id
        self.executions = executions
        self.stopped = threading.Event()
        self._running: dict[str, Generation] = {}
        self._lock = threading.Lock()  # graded answers are written from the sandbox's feeder

    def _append(self, record: dict) -> None:
        with self._lock:
            if not self.stopped.is_set():
                self.executions.append(record)

    def run(self, sandbox: Sandbox, generations: Iterator[Generation],
            advance: Callable[..., None]) -> None:
        def jobs() -> Iterator[Job]:
            for generation in generations:
                problem = self.by_id[generation.problem_id]
                job = self.task.build_job(problem, generation.program, _job_id(generation))
                if job is None:  # an answer graded as text (exact match), nothing to run
                    judgement = self.task.grade(problem, generation.program)
                    self._append(to_dict(_graded_record(self.task, generation, judgement)))
                    advance()
                    continue
                self._running[job.id] = generation
                yield job

        for outcome in sandbox.run(jobs()):
            if self.stopped.is_set():
                return
            generation = self._running.pop(outcome.job_id)
            judgement = self.task.judge(self.by_id[generation.problem_id], outcome)
            self._append(to_dict(_execution_record(self.task, generation, outcome, judgement)))
            advance()


def _job_id(generation: Generation) -> str:
    return f"{generation.problem_id}#{generation.sample_index}"


def _execution_record(task: Task, generation: Generation, outcome: Outcome,
                      judgement: Judgement) -> Execution:
    failing = outcome.first_failure()
    source: Outcome | TestOutcome = failing if outcome.status is Status.PASSED and failing else outcome
    return Execution(
        task=task.name,
        problem_id=generation.problem_id,
        sample_index=generation.sample_index,
        status=judgement.status,
        groups=judgement.groups,
        exception_type=source.exception_type,
        exception_chain=source.exception_chain,
        message=source.message,
        tests=[_test_dict(t) for t in outcome.tests],
        wall_time_s=outcome.wall_time_s,
        stdout=outcome.stdout[-2000:],
        stderr=outcome.stderr[-2000:],
        details=judgement.details,
    )


def _graded_record(task: Task, generation: Generation, judgement: Judgement) -> Execution:
    return Execution(task=task.name, problem_id=generation.problem_id,
                     sample_index=generation.sample_index, status=judgement.status,
                     groups=judgement.groups, details=judgement.details)


def _test_dict(test: TestOutcome) -> dict:
    data: dict = {"name": test.name, "group": test.group, "status": test.status.value,
                  "time_s": round(test.time_s, 6)}
    if test.exception_type:
        data.update(exception_type=test.exception_type, message=test.message)
    return data


# ------------------------------------------------------------------ score


def score(run: RunDir, task: Task, problems: list[Problem], scorers: list[Scorer] | None = None) -> dict:
    """The task's scorers (or the given ones) over the run's records, with what they say
    about showing them: columns, the primary metric that ranks the run, charts."""
    wanted = {p.id for p in problems}
    generations = [g for g in map(lambda g: from_dict(Generation, g), run.generations()) if g.problem_id in wanted]
    executions = [e for e in map(lambda e: from_dict(Execution, e), run.executions()) if e.problem_id in wanted]
    if not executions:
        raise HarnessError(f"{run.path}: no executions to score; run `codeharness execute` first")
    manifest = run.manifest()
    scorers = task.scorers() if scorers is None else scorers
    results = {scorer.name: scorer.score(task, problems, generations, executions) for scorer in scorers}
    scores = {
        "task": task.name,
        "model": (manifest.get("model") or {}).get("model"),
        "backend": manifest["config"]["backend"],
        "prompt_style": manifest.get("prompt_style"),
        "sampling": manifest["config"]["sampling"],
        "scored_at": manifest_info.now(),
        "coverage": coverage(manifest.get("task_problems") or len(problems), problems, generations, executions,
                             manifest.get("sample_counts")),
        "scorers": [scorer.name for scorer in scorers],
        "primary_metric": next((metric for scorer in scorers
                                if (metric := scorer.primary_metric(results[scorer.name]))), None),
        "columns": {column.name: column.to_dict() for scorer in scorers
                    for column in scorer.columns(results[scorer.name])},
        "charts": [chart.to_dict() for scorer in scorers for chart in scorer.charts(results[scorer.name])],
        **results,
    }
    run.write_scores(scores)
    run.update_manifest({"scored": scores["scored_at"]}, section="timestamps")
    return scores


def coverage(task_problems: int, problems: list[Problem], generations: list[Generation],
             executions: list[Execution], planned: dict[str, int] | None) -> dict:
    """How much of the task the scores stand for. A run is complete when it scored every
    problem of the task, each with all its planned samples, and nothing is left unexecuted."""
    executed = Counter(e.problem_id for e in executions)
    per_problem = [executed[p.id] for p in problems if executed[p.id]]
    wanted = {p.id for p in problems}
    short = sorted(pid for pid, count in (planned or {}).items() if pid in wanted and executed[pid] < count)
    unexecuted = len({g.key for g in generations} - {e.key for e in executions})
    return {
        "task_problems": task_problems,
        "problems": len(per_problem),
        "samples": sum(per_problem),
        "samples_per_problem": {"min": min(per_problem, default=0), "max": max(per_problem, default=0)},
        "problems_missing_samples": len(short),
        "unexecuted_generations": unexecuted,
        "complete": len(per_problem) == task_problems and not short and not unexecuted,
    }


# ------------------------------------------------------------------ ground truth


def check_ground_truth(task: Task, problems: list[Problem], sandbox: Sandbox) -> dict:
    """Run every reference solution; report the failures, split into the task's documented
    known-bad problems and unexpected ones, with the sandbox's environment probe (a reference
    that passes proves little if programs cannot import what they may need)."""
    sandbox.require(task.environment)
    task.prepare(problems, sandbox)
    with_reference, jobs, graded = {}, [], []
    for problem in problems:
        for index, program in enumerate(task.reference_programs(problem)):
            job_id = problem.id if index == 0 else f"{problem.id}#{index}"
            with_reference[job_id] = problem
            job = task.build_job(problem, program, job_id)
            if job is None:  # a reference answer graded as text (DIA)
                graded.append((job_id, task.grade(problem, program)))
            else:
                jobs.append(job)
    report: dict = {"total": len(with_reference), "passed": 0, "known_bad": {}, "unexpected": {},
                    "environment": sandbox.probe()}
    for job_id, judgement in graded:
        if judgement.status is Status.PASSED:
            report["passed"] += 1
        else:
            report["unexpected"][job_id] = judgement.status.value
    with progress_bar("checking reference solutions", len(jobs)) as advance:
        for outcome in sandbox.run(jobs):
            judgement = task.judge(with_reference[outcome.job_id], outcome)
            if judgement.status is Status.PASSED:
                report["passed"] += 1
            elif outcome.job_id in task.known_bad:
                report["known_bad"][outcome.job_id] = task.known_bad[outcome.job_id]
            else:
                failing = outcome.first_failure() or outcome
                report["unexpected"][outcome.job_id] = (
                    f"{judgement.status.value}: {failing.exception_type or ''} {failing.message or ''}".strip())
            advance()
    return report
