"""The scorers every task has: pass@k per test group, and how samples ended."""

from __future__ import annotations

from collections import Counter, defaultdict

from codeharness.core import registry
from codeharness.core.passk import pass_at_k_table
from codeharness.core.records import Status
from codeharness.scorers.base import BaseScorer, Chart, Column

TABLE_KS = (1, 10, 100)  # the pass@k columns tables show (every k up to n is in scores.json)


@registry.scorers.register
class PassAtK(BaseScorer):
    """pass@k for each test group a task reports (base, plus, ...), from executions.groups.
    `primary_group` is the group whose pass@1 ranks runs (a task's strictest tests)."""

    name = "pass_at_k"

    def __init__(self, primary_group: str = "base"):
        self.primary_group = primary_group

    def score(self, task, problems, generations, executions) -> dict:
        by_group: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
        for execution in executions:
            for group, status in execution.groups.items():
                by_group[group][execution.problem_id].append(status is Status.PASSED)
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

    def columns(self, result: dict) -> list[Column]:
        return [Column(f"{group} pass@{k}", metric["value"], metric["ci_low"], metric["ci_high"], percent=True)
                for group, metrics in result.items() for k in TABLE_KS
                if (metric := metrics.get(f"pass@{k}"))]

    def primary_metric(self, result: dict) -> str | None:
        group = self.primary_group if self.primary_group in result else next(iter(result), None)
        return f"{group} pass@1" if group else None

    def report(self, result: dict) -> list:
        from rich.table import Table

        table = Table(title="pass@k")
        for column in ("tests", "metric", "value", "95% CI"):
            table.add_column(column, justify="left" if column in ("tests", "metric") else "right")
        for group, metrics in result.items():
            for k in (1, 5, 10, 100, 1000):
                metric = metrics.get(f"pass@{k}")
                if metric:
                    table.add_row(group, f"pass@{k}", f"{100 * metric['value']:.2f}%",
                                  f"{100 * metric['ci_low']:.1f}–{100 * metric['ci_high']:.1f}")
        return [table]

    def charts(self, result: dict) -> list[Chart]:
        group = self.primary_metric(result)
        if group is None:
            return []
        group = group.removesuffix(" pass@1")
        metrics = result[group]
        ks = sorted(int(key.removeprefix("pass@")) for key in metrics if key.startswith("pass@"))
        points = [[k, 100 * metrics[f"pass@{k}"]["value"], 100 * metrics[f"pass@{k}"]["ci_low"],
                   100 * metrics[f"pass@{k}"]["ci_high"]] for k in ks]
        return [Chart("pass_at_k", "curve", "pass@k over k", "k", "pass@k (%)", points, series=group)]


@registry.scorers.register
class StatusCounts(BaseScorer):
    """How many samples ended in each status, and how many generations were cut at max tokens."""

    name = "status_counts"

    def score(self, task, problems, generations, executions) -> dict:
        return {
            "status": dict(Counter(e.status.value for e in executions)),
            "truncated_generations": sum(g.truncated for g in generations),
            "generations": len(generations),
            "executions": len(executions),
        }

    def report(self, result: dict) -> list:
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(result["status"].items()))
        return [f"outcomes: {outcomes}; {result['truncated_generations']} of "
                f"{result['generations']} generations cut at the token limit"]
