"""Scorers: each reads a run's problems, generations and executions and returns metrics.

`DEFAULT_SCORERS` run on every task; a task adds its own with `Task.scorers()`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Protocol

from harness.records import Execution, Generation
from harness.scoring.hallucination import HallucinationProfile
from harness.scoring.passk import pass_at_k_table


class Scorer(Protocol):
    name: str

    def score(self, task, problems: list, generations: list[Generation],
              executions: list[Execution]) -> dict:
        """Metrics for scores.json under the scorer's name."""


class PassAtK:
    """pass@k for each test group a task reports (base, plus, ...), from executions.groups."""

    name = "pass_at_k"

    def score(self, task, problems, generations, executions) -> dict:
        by_group: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        for execution in executions:
            for group, status in execution.groups.items():
                by_group[group][execution.problem_id].append(status == "passed")
        result = {}
        for group, per_problem in by_group.items():
            problem_ids = sorted(per_problem)
            totals = [len(per_problem[p]) for p in problem_ids]
            corrects = [sum(per_problem[p]) for p in problem_ids]
            result[group] = {
                "problems": len(problem_ids),
                "samples": sum(totals),
                "samples_per_problem": min(totals),
                **pass_at_k_table(totals, corrects),
            }
        return result


class StatusCounts:
    """How many samples ended in each status, and how many generations were cut at max tokens."""

    name = "status_counts"

    def score(self, task, problems, generations, executions) -> dict:
        return {
            "status": dict(Counter(e.status for e in executions)),
            "truncated_generations": sum(g.truncated for g in generations),
            "generations": len(generations),
            "executions": len(executions),
        }


DEFAULT_SCORERS: list[Scorer] = [PassAtK(), StatusCounts(), HallucinationProfile()]
