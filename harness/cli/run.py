"""`eval` and `generate`: a run from its options, validated before its directory exists."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from codeharness.cli.common import (
    TASK_OPTIONS,
    RayActorCpus,
    RayAddress,
    RayInnerSandbox,
    at_least,
    check_sandbox,
    create_backend,
    default_backend,
    guarded,
    open_sandbox,
    output_folder,
    parse_task_options,
    ray_sandbox_options,
    show_scores,
)
from codeharness.core.errors import HarnessError

ALL_STAGES = ("generate", "execute", "score")


def run_command(stages: tuple[str, ...]):
    def command(
        ctx: typer.Context,
        task: Annotated[str, typer.Option(help="Benchmark to run (see `codeharness tasks list`).")],
        model: Annotated[Optional[str], typer.Option(help="Checkpoint path or Hugging Face id; default: the embedded SmolLM2-135M-Instruct.")] = None,
        backend: Annotated[Optional[str], typer.Option(help="hf, vllm, openai, replay or a plugin's; default: vllm when installed, else hf.")] = None,
        samples: Annotated[Optional[Path], typer.Option(help="Samples JSONL to score with --backend replay.")] = None,
        model_name: Annotated[Optional[str], typer.Option(help="The name tables show for replayed samples' model (--backend replay).")] = None,
        n: Annotated[int, typer.Option(help="Samples per problem.")] = 1,
        temperature: Annotated[float, typer.Option(help="0 means greedy.")] = 0.0,
        top_p: Annotated[float, typer.Option()] = 0.95,
        max_tokens: Annotated[int, typer.Option(help="Most new tokens per sample.")] = 512,
        seed: Annotated[int, typer.Option()] = 0,
        prompt: Annotated[Optional[str], typer.Option(help="Prompt style (the task lists its styles); default: chat for chat models.")] = None,
        limit: Annotated[Optional[int], typer.Option(help="Only the first N problems.")] = None,
        problems: Annotated[Optional[str], typer.Option(help="Only these problems: comma-separated ids or shell patterns (HumanEval/1*).")] = None,
        data_path: Annotated[Optional[str], typer.Option(help="Local data file, or hf:DATASET for the Hugging Face Hub.")] = None,
        batch_size: Annotated[Optional[int], typer.Option(help="Sequences per forward pass (hf backend; default 8).")] = None,
        device: Annotated[Optional[str], typer.Option(help="cpu, cuda, cuda:N, or auto: cuda when present (hf backend).")] = None,
        dtype: Annotated[Optional[str], typer.Option(help="bfloat16, float16, float32, or auto: bfloat16 on GPUs (float16 where unsupported), float32 on CPUs (hf backend).")] = None,
        tensor_parallel_size: Annotated[Optional[int], typer.Option(help="GPUs per model replica (vllm backend, --serve).")] = None,
        data_parallel_size: Annotated[Optional[int], typer.Option(help="Model replicas, each on its own GPUs (vllm backend, --serve).")] = None,
        data_parallel_backend: Annotated[Optional[str], typer.Option(help="How --serve runs its --data-parallel-size engines: mp (processes here, default) or ray (vLLM's Ray actors, across the cluster's GPUs).")] = None,
        ray_replicas: Annotated[Optional[int], typer.Option(help="Run this many copies of the backend as Ray actors across the cluster (see --ray-address), each in a placement group bundle.")] = None,
        ray_replica_cpus: Annotated[Optional[float], typer.Option(help="CPUs per --ray-replicas copy (default 1).")] = None,
        ray_replica_gpus: Annotated[Optional[float], typer.Option(help="GPUs per --ray-replicas copy (default 0; the tensor-parallel size for vllm).")] = None,
        base_url: Annotated[Optional[str], typer.Option(help="OpenAI-compatible server, e.g. http://host:8000/v1 (openai backend; default: OPENAI_BASE_URL). The API key comes from OPENAI_API_KEY.")] = None,
        serve: Annotated[bool, typer.Option(help="Start vLLM's OpenAI server for the model on 127.0.0.1 for this run, stop it at the end (implies --backend openai).")] = False,
        max_concurrency: Annotated[Optional[int], typer.Option(help="Requests in flight at once (openai backend; default 64).")] = None,
        request_timeout: Annotated[Optional[float], typer.Option(help="Seconds per request attempt before a retry (openai backend; default 600).")] = None,
        sandbox: Annotated[str, typer.Option(help="local, docker, ray (across a Ray cluster: --ray-address) or a plugin's.")] = "local",
        workers: Annotated[Optional[int], typer.Option(help="Parallel sandbox workers; default: number of cores (--sandbox ray: of the cluster).")] = None,
        ray_address: RayAddress = None,
        ray_inner_sandbox: RayInnerSandbox = None,
        ray_actor_cpus: RayActorCpus = None,
        output_dir: Annotated[Path, typer.Option(help="Where run directories go.")] = Path("results"),
        run_dir: Annotated[Optional[Path], typer.Option(help="Exact run directory (default: derived from the config).")] = None,
        overwrite: Annotated[bool, typer.Option(help="Replace a run directory made with another config.")] = False,
    ):
        from codeharness.core.records import SamplingConfig
        from codeharness.pipeline.stages import RunConfig, split_backend_options

        at_least(1, n=n, max_tokens=max_tokens, limit=limit, batch_size=batch_size,
                 tensor_parallel_size=tensor_parallel_size, data_parallel_size=data_parallel_size,
                 max_concurrency=max_concurrency, workers=workers, ray_replicas=ray_replicas)
        at_least(0, temperature=temperature, seed=seed)
        if not 0 < top_p <= 1:
            raise HarnessError(f"--top-p must be in (0, 1], got {top_p:g}")
        if request_timeout is not None and request_timeout <= 0:
            raise HarnessError(f"--request-timeout must be positive, got {request_timeout:g}")
        task_options = parse_task_options(ctx.args)
        if data_path:
            task_options["data_path"] = data_path
        chosen_backend = backend or ("openai" if serve else default_backend())
        given = {"samples": str(samples.resolve()) if samples else None, "model_name": model_name,
                 "batch_size": batch_size, "device": device, "dtype": dtype,
                 "tensor_parallel_size": tensor_parallel_size, "data_parallel_size": data_parallel_size,
                 "base_url": base_url, "serve": serve or None, "max_concurrency": max_concurrency,
                 "request_timeout": request_timeout, "data_parallel_backend": data_parallel_backend}
        backend_options, runtime_options = split_backend_options(
            chosen_backend, {k: v for k, v in given.items() if v is not None})
        config = RunConfig(
            task=task, task_options=task_options, model=model, backend=chosen_backend,
            backend_options=backend_options, runtime_options=runtime_options,
            sampling=SamplingConfig(n=n, temperature=temperature, top_p=top_p,
                                    max_tokens=max_tokens, seed=seed),
            prompt_style=prompt, limit=limit,
            problems=[p.strip() for p in problems.split(",") if p.strip()] if problems else None,
        )
        run_stages(config, run_dir or output_folder(output_dir) / config.run_id(), overwrite, stages,
                   sandbox, workers, ray_sandbox_options(ray_address, ray_inner_sandbox, ray_actor_cpus),
                   {"ray_replicas": ray_replicas, "ray_replica_cpus": ray_replica_cpus,
                    "ray_replica_gpus": ray_replica_gpus})

    return guarded(command)


def run_stages(config, run_path: Path, overwrite: bool, stages: tuple[str, ...],
               sandbox_name: str, workers: int | None, sandbox_options: dict | None = None,
               replicas: dict | None = None) -> None:
    """Validate everything a run needs before its directory exists, so a refused command
    leaves nothing behind; then hold the directory (one writer at a time) for the stages."""
    from codeharness.core.rundir import RunDir
    from codeharness.pipeline import stages as pipeline
    from codeharness.tasks import create_task

    task = create_task(config.task, **config.task_options)
    every_problem = task.load()
    problems = pipeline.select_problems(task, every_problem, config.limit, config.problems)
    pipeline.check_prompt_style(task, config.prompt_style)
    check_sandbox(sandbox_name, sandbox_options)  # an unknown name fails now, not after generating
    backend = create_backend(config, **(replicas or {}))
    try:
        pipeline.check_coverage(backend.sample_counts(problems, config.sampling.n), problems, backend)
        run = RunDir(run_path)
        with run.writer():
            pipeline.open_run(run, config, overwrite, task_problems=len(every_problem))
            print(f"run directory: {run.path}", file=sys.stderr)
            if pipeline.plays_in_rounds(task, config):  # prompts that need earlier verdicts
                with open_sandbox(sandbox_name, workers, sandbox_options) as box:
                    pipeline.generate_in_rounds(run, config, task, problems, backend, box)
                    backend.close()
                    if "execute" in stages:
                        pipeline.execute(run, task, problems, box)
            elif "execute" in stages:  # each sample executes as soon as it is generated
                with open_sandbox(sandbox_name, workers, sandbox_options) as box:
                    pipeline.generate_and_execute(run, config, task, problems, backend, box)
                backend.close()
            else:
                pipeline.generate(run, config, task, problems, backend)
                backend.close()
            if "score" in stages:
                scorers = task.scorers()
                show_scores(pipeline.score(run, task, problems, scorers), scorers, run.path)
    finally:
        backend.close()


def generate_app() -> typer.Typer:
    """A command line with `generate` alone, for commands that sample a run first (prefs)."""
    app = typer.Typer()
    app.command("generate", context_settings=TASK_OPTIONS)(run_command(("generate",)))
    return app
