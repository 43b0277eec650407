"""The stages: generate -> execute -> score. Each reads the previous stage's records from the
run directory and appends its own, so any stage can be rerun alone and a killed run resumes
with nothing lost or done twice."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from harness import manifest as manifest_info
from harness.backends.base import Completion, GenerationRequest, ModelBackend, SamplingConfig
from harness.errors import HarnessError
from harness.progress import progress_bar
from harness.records import Execution, Generation, from_dict, to_dict
from harness.rundir import RunDir
from harness.scoring import DEFAULT_SCORERS
from tasks import create_task
from tasks.base import CHAT, COMPLETION, Problem


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
    # How the model is reached, not what it answers (batch size, server address, concurrency,
    # timeouts): left out of the identity, so a run can resume with other values, e.g. a
    # smaller batch after running out of GPU memory.
    runtime_options: dict = field(default_factory=dict)

    def identity(self) -> dict:
        data = asdict(self)
        del data["runtime_options"]
        return json.loads(json.dumps(data, sort_keys=True, default=str))

    def run_id(self) -> str:
        digest = hashlib.sha256(json.dumps(self.identity(), sort_keys=True).encode()).hexdigest()
        model = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(self.model or "default").name)[-40:]
        return f"{self.task}-{model}-{self.backend}-{digest[:8]}"

    @classmethod
    def from_identity(cls, data: dict) -> "RunConfig":
        return cls(**{**data, "sampling": SamplingConfig(**data["sampling"])})


def load_problems(task, limit: int | None) -> list[Problem]:
    problems = task.load()
    if not problems:
        raise HarnessError(f"task {task.name!r} loaded no problems")
    return problems[:limit] if limit else problems


def choose_prompt_style(task, requested: str | None, backend: ModelBackend) -> str:
    forced = getattr(backend, "prompt_style", None)
    if forced:
        return forced
    if requested:
        if requested not in task.prompt_styles:
            raise HarnessError(f"task {task.name!r} has no prompt style {requested!r}; "
                               f"choose one of {', '.join(task.prompt_styles)}")
        return requested
    if backend.supports_chat and CHAT in task.prompt_styles:
        return CHAT
    return task.prompt_styles[0] if task.prompt_styles[0] != CHAT else COMPLETION


def open_run(run: RunDir, config: RunConfig, overwrite: bool) -> None:
    run.open(config.identity(), manifest_info.new_manifest(config.identity()), overwrite)


def task_of_run(run: RunDir):
    config = RunConfig.from_identity(run.manifest()["config"])
    return config, create_task(config.task, **config.task_options)


# ------------------------------------------------------------------ generate


def generate(run: RunDir, config: RunConfig, task, problems: list[Problem],
             open_backend: Callable[[], ModelBackend]) -> None:
    """Ask the model for every sample the run does not have yet, writing each as it arrives.

    The backend is opened only when something is missing, so a finished stage is free.
    """
    log = run.generations()
    counts = _sample_counts(config, problems, open_backend)
    missing = {p.id: [i for i in range(counts[p.id]) if (p.id, i) not in log] for p in problems}
    todo = sum(len(v) for v in missing.values())
    if todo == 0:
        return
    backend = open_backend()
    try:
        style = choose_prompt_style(task, config.prompt_style, backend)
        by_id = {p.id: p for p in problems}
        prompts = {p.id: task.build_prompt(p, style) for p in problems if missing[p.id]}
        requests = [GenerationRequest(pid, prompts[pid], indices)
                    for pid, indices in missing.items() if indices]
        run.update_manifest({"model": backend.describe(), "prompt_style": style,
                             "data": task.data_sources()})
        run.update_manifest({"generation_started": manifest_info.now()}, section="timestamps")
        _generate_requests(log, task, by_id, requests, backend, config.sampling, style)
    finally:
        backend.close()
    run.update_manifest({"generation_finished": manifest_info.now()}, section="timestamps")


def _generate_requests(log, task, by_id: dict[str, Problem], requests: list[GenerationRequest],
                       backend: ModelBackend, sampling: SamplingConfig, style: str) -> None:
    prompts = {request.problem_id: request.prompt for request in requests}
    with progress_bar("generating", sum(len(r.sample_indices) for r in requests)) as advance:
        def on_completion(completion: Completion) -> None:
            problem = by_id[completion.problem_id]
            record = _generation_record(task, problem, prompts[problem.id], completion, style)
            log.append(to_dict(record))
            advance()

        backend.generate(requests, sampling, on_completion)


def plays_in_rounds(task, config: RunConfig) -> bool:
    """True for a prompt style whose prompts depend on earlier verdicts (P3's bootstrap)."""
    return config.prompt_style in getattr(task, "round_styles", ())


def generate_in_rounds(run: RunDir, config: RunConfig, task, problems: list[Problem],
                       open_backend: Callable[[], ModelBackend], sandbox) -> None:
    """Alternate execution and generation: execute what is pending, let the task plan the
    next round from the run's records (`task.plan_round`), generate it, and repeat until the
    task plans nothing. The plan depends on the records alone, so a killed run resumes."""
    by_id = {p.id: p for p in problems}
    backend = None
    try:
        while True:
            execute(run, task, problems, sandbox)
            requests = task.plan_round(problems, [from_dict(Generation, g) for g in run.generations()],
                                       [from_dict(Execution, e) for e in run.executions()],
                                       config.sampling)
            if not requests:
                return
            if backend is None:
                backend = open_backend()
                run.update_manifest({"model": backend.describe(), "prompt_style": config.prompt_style,
                                     "data": task.data_sources()})
            _generate_requests(run.generations(), task, by_id, requests, backend, config.sampling,
                               config.prompt_style)
    finally:
        if backend is not None:
            backend.close()


def _sample_counts(config: RunConfig, problems: list[Problem], open_backend) -> dict[str, int]:
    if config.backend != "replay":
        return {p.id: config.sampling.n for p in problems}
    return open_backend().bind(problems)  # cheap: the samples file says how many each has


def _generation_record(task, problem: Problem, prompt, completion: Completion,
                       style: str) -> Generation:
    shown = completion.rendered_prompt or (prompt.text if prompt.text is not None else prompt.messages)
    return Generation(
        task=task.name,
        problem_id=problem.id,
        sample_index=completion.sample_index,
        prompt=shown,
        completion=completion.text,
        program=task.extract_program(problem, completion.text, style),
        finish_reason=completion.finish_reason,
        truncated=completion.finish_reason == "length",
        prompt_tokens=completion.prompt_tokens,
        completion_tokens=completion.completion_tokens,
        latency_s=completion.latency_s,
    )


# ------------------------------------------------------------------ execute


def execute(run: RunDir, task, problems: list[Problem], sandbox) -> None:
    """Run every generation that has no execution record yet."""
    executions = run.executions()
    by_id = {p.id: p for p in problems}
    pending = [from_dict(Generation, g) for g in run.generations()
               if (g["problem_id"], g["sample_index"]) not in executions
               and g["problem_id"] in by_id]
    if not pending:
        return
    run.update_manifest({"sandbox": sandbox.describe()})
    run.update_manifest({"execution_started": manifest_info.now()}, section="timestamps")
    task.prepare([by_id[i] for i in sorted({g.problem_id for g in pending})], sandbox)
    generations, jobs = {}, []
    for generation in pending:
        problem = by_id[generation.problem_id]
        job = task.build_job(problem, generation.program, _job_id(generation))
        if job is None:  # an answer graded as text (exact match), nothing to run
            judgement = task.grade(problem, generation.program)
            executions.append(to_dict(_graded_record(task, generation, judgement)))
        else:
            generations[job.id] = generation
            jobs.append(job)
    with progress_bar("executing", len(jobs)) as advance:
        for outcome in sandbox.run(jobs):
            generation = generations[outcome.job_id]
            judgement = task.judge(by_id[generation.problem_id], outcome)
            executions.append(to_dict(_execution_record(task, generation, outcome, judgement)))
            advance()
    run.update_manifest({"execution_finished": manifest_info.now()}, section="timestamps")


def _job_id(generation: Generation) -> str:
    return f"{generation.problem_id}#{generation.sample_index}"


def _execution_record(task, generation: Generation, outcome, judgement) -> Execution:
    failing = next((t for t in outcome.tests if t.status.value not in ("passed", "not_run")), None)
    source = failing if outcome.status.value == "passed" and failing else outcome
    return Execution(
        task=task.name,
        problem_id=generation.problem_id,
        sample_index=generation.sample_index,
        status=judgement.status.value,
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


def _graded_record(task, generation: Generation, judgement) -> Execution:
    return Execution(task=task.name, problem_id=generation.problem_id,
                     sample_index=generation.sample_index, status=judgement.status.value,
                     groups=judgement.groups, details=judgement.details)


def _test_dict(test) -> dict:
    data = {"name": test.name, "group": test.group, "status": test.status.value,
            "time_s": round(test.time_s, 6)}
    if test.exception_type:
        data.update(exception_type=test.exception_type, message=test.message)
    return data


# ------------------------------------------------------------------ score


def score(run: RunDir, task, problems: list[Problem]) -> dict:
    generations = [from_dict(Generation, g) for g in run.generations()]
    executions = [from_dict(Execution, e) for e in run.executions()]
    if not executions:
        raise HarnessError(f"{run.path}: no executions to score; run `codeharness execute` first")
    manifest = run.manifest()
    scores = {
        "task": task.name,
        "model": (manifest.get("model") or {}).get("model"),
        "backend": manifest["config"]["backend"],
        "prompt_style": manifest.get("prompt_style"),
        "sampling": manifest["config"]["sampling"],
        "scored_at": manifest_info.now(),
    }
    for scorer in [*DEFAULT_SCORERS, *task.scorers()]:
        scores[scorer.name] = scorer.score(task, problems, generations, executions)
    run.write_scores(scores)
    run.update_manifest({"scored": scores["scored_at"]}, section="timestamps")
    return scores


# ------------------------------------------------------------------ ground truth


def check_ground_truth(task, problems: list[Problem], sandbox) -> dict:
    """Run every reference solution; report the failures, split into the task's documented
    known-bad problems and unexpected ones."""
    task.prepare(problems, sandbox)
    with_reference, jobs, graded = {}, [], []
    for problem in problems:
        # A task may have several reference programs per problem (P3's sol_bodies).
        programs = (task.reference_programs(problem) if hasattr(task, "reference_programs")
                    else [task.canonical_program(problem)])
        for index, program in enumerate(p for p in programs if p):
            job_id = problem.id if index == 0 else f"{problem.id}#{index}"
            with_reference[job_id] = problem
            job = task.build_job(problem, program, job_id)
            if job is None:  # a reference answer graded as text (DIA)
                graded.append((job_id, task.grade(problem, program)))
            else:
                jobs.append(job)
    known_bad = getattr(task, "known_bad", {})
    report = {"total": len(with_reference), "passed": 0, "known_bad": {}, "unexpected": {}}
    for job_id, judgement in graded:
        if judgement.status.value == "passed":
            report["passed"] += 1
        else:
            report["unexpected"][job_id] = judgement.status.value
    with progress_bar("checking reference solutions", len(jobs)) as advance:
        for outcome in sandbox.run(jobs):
            judgement = task.judge(with_reference[outcome.job_id], outcome)
            if judgement.status.value == "passed":
                report["passed"] += 1
            elif outcome.job_id in known_bad:
                report["known_bad"][outcome.job_id] = known_bad[outcome.job_id]
            else:
                failing = next((t for t in outcome.tests if t.status.value != "passed"), outcome)
                report["unexpected"][outcome.job_id] = (
                    f"{judgement.status.value}: {failing.exception_type or ''} {failing.message or ''}".strip())
            advance()
    return report
