"""What every command shares: one-line errors, task options, sandboxes, showing scores."""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import inspect
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Optional

import typer
from codeharness.core.errors import HarnessError

TASK_OPTIONS = {"allow_extra_args": True, "ignore_unknown_options": True}


def fail(message: str, code: int = 2) -> None:
    from rich.console import Console

    Console(stderr=True, soft_wrap=True).print(f"[bold red]error:[/] {message}", highlight=False,
                                               markup=True)
    raise typer.Exit(code)


def guarded(function):
    """Turn bad input into one clear line and a non-zero exit, never a traceback; Ctrl-C into
    exit 130. What was written before is kept: every record is appended whole."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except HarnessError as exc:
            fail(str(exc).replace("[", r"\["))
        except OSError as exc:  # a read-only or full disk, a file where a folder should be, ...
            where = f"{exc.filename}: " if exc.filename else ""
            fail(f"{where}{exc.strerror or exc}".replace("[", r"\["))
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


def at_least(minimum: float, **values: float | None) -> None:
    """Refuse numbers below their minimum (`--n 0`, `--workers -1`)."""
    for name, value in values.items():
        if value is not None and value < minimum:
            raise HarnessError(f"--{name.replace('_', '-')} must be at least {minimum:g}, got {value:g}")


# Running on a Ray cluster (README, "Scale out on Ray"): where, and how the ray sandbox's
# actors are sized; the options a sandbox does not take are refused by name.
RayAddress = Annotated[Optional[str], typer.Option(help="Ray cluster (HOST:PORT) for --sandbox ray, --ray-replicas and --serve --data-parallel-backend ray; default: RAY_ADDRESS, else a cluster started on this machine, else a new one here.")]
RayInnerSandbox = Annotated[Optional[str], typer.Option(help="The sandbox each Ray actor runs on its node: local or docker (--sandbox ray; default local).")]
RayActorCpus = Annotated[Optional[int], typer.Option(help="CPUs, and sandbox workers, per Ray actor (--sandbox ray; default 1).")]


def ray_sandbox_options(ray_address: str | None, ray_inner_sandbox: str | None,
                        ray_actor_cpus: int | None) -> dict:
    """The sandbox options given; the address goes to RAY_ADDRESS, which every part that
    joins the cluster reads (vLLM's server among them)."""
    if ray_address:
        os.environ["RAY_ADDRESS"] = ray_address
    at_least(1, ray_actor_cpus=ray_actor_cpus)
    return {name: value for name, value in (("ray_inner_sandbox", ray_inner_sandbox),
                                            ("ray_actor_cpus", ray_actor_cpus)) if value is not None}


def check_sandbox(name: str, options: dict | None = None) -> None:
    """An unknown sandbox, or an option it does not take, fails before anything runs."""
    from codeharness.core import registry

    accepted = inspect.signature(registry.sandboxes.get(name)).parameters
    refused = sorted(option for option in options or {} if option not in accepted)
    if refused:
        raise HarnessError(f"the {name} sandbox takes no "
                           f"{', '.join('--' + option.replace('_', '-') for option in refused)}")


@contextlib.contextmanager
def open_sandbox(name: str, workers: int | None, options: dict | None = None) -> Iterator:
    from codeharness.sandbox import open_sandbox as open_named

    at_least(1, workers=workers)
    check_sandbox(name, options)
    with open_named(name, workers=workers, **(options or {})) as box:
        yield box


def create_backend(config, ray_replicas: int | None = None, ray_replica_cpus: float | None = None,
                   ray_replica_gpus: float | None = None):
    """The run's backend; with ray_replicas, that many copies of it on the Ray cluster
    (replication is how the model is reached: the run's identity is the backend's)."""
    from codeharness.pipeline import stages as pipeline

    if ray_replicas is None:
        if ray_replica_cpus is not None or ray_replica_gpus is not None:
            raise HarnessError("--ray-replica-cpus and --ray-replica-gpus size --ray-replicas; "
                               "give it too")
        return pipeline.create_backend(config)
    from codeharness.backends.ray_replicas import RayReplicas

    options = {**config.backend_options, **config.runtime_options}
    if config.model is not None:
        options["model"] = config.model
    return RayReplicas(config.backend, options, ray_replicas,
                       replica_cpus=1.0 if ray_replica_cpus is None else ray_replica_cpus,
                       replica_gpus=0.0 if ray_replica_gpus is None else ray_replica_gpus)


def output_folder(path: Path) -> Path:
    if path.exists() and not path.is_dir():
        raise HarnessError(f"{path}: --output-dir must be a folder, and this is a file")
    return path


def show_scores(scores: dict, scorers: list, run_path: Path) -> None:
    """Each scorer's report on the console, then what the run covers and where it is."""
    from rich.console import Console

    console = Console()
    console.print(f"[bold]{scores['task']}[/] — {scores.get('model') or ''}", highlight=False)
    for scorer in scorers:
        for item in scorer.report(scores[scorer.name]):
            console.print(item, highlight=False)
    coverage = scores["coverage"]
    per_problem = coverage["samples_per_problem"]
    samples = per_problem["min"] if per_problem["min"] == per_problem["max"] else f"{per_problem['min']}-{per_problem['max']}"
    console.print(f"scored {coverage['problems']} of the task's {coverage['task_problems']} problems, "
                  f"{samples} samples each" + ("" if coverage["complete"] else " [yellow](partial run)[/]"),
                  highlight=False)
    console.print(f"scores: {run_path / 'scores.json'}")
