"""The Scorer protocol: a scorer turns a run's records into metrics and says how to show them.

`score` returns what `scores.json` keeps under the scorer's name. `columns` are the numbers
tables show (the leaderboard's, `codeharness score`'s), `primary_metric` names the column
that ranks runs (None for a scorer that ranks nothing), `report` is what the console prints
and `charts` what the leaderboard's page draws. The pipeline stores columns, the primary
metric and charts in `scores.json` too, so a leaderboard needs no scorer code to show a run.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import ClassVar, Protocol

from codeharness.core.records import Execution, Generation, Problem


@dataclass(frozen=True)
class Column:
    """One value a table shows, with its 95% interval where it has one."""

    name: str
    value: float | int | str | None
    ci_low: float | None = None
    ci_high: float | None = None
    percent: bool = False  # a share in [0, 1], shown as a percentage

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k != "name" and v is not None}


@dataclass(frozen=True)
class Chart:
    """One figure of a run, drawn on the leaderboard's page with the task's other runs.

    kind "curve": points are [x, y, y_low, y_high]; "bars": points are [label, y];
    "point": one [x, y]. Charts with the same id from several runs share one figure."""

    id: str
    kind: str
    title: str
    x_label: str
    y_label: str
    points: list = field(default_factory=list)
    series: str = ""  # what the run's line or bars show, added to its label

    def to_dict(self) -> dict:
        return asdict(self)


class Scorer(Protocol):
    name: str  # its key in scores.json

    def score(self, task, problems: list[Problem], generations: list[Generation],
              executions: list[Execution]) -> dict: ...

    def columns(self, result: dict) -> list[Column]: ...

    def primary_metric(self, result: dict) -> str | None: ...

    def report(self, result: dict) -> list:
        """Lines (str) or rich renderables for the console."""

    def charts(self, result: dict) -> list[Chart]: ...


class BaseScorer:
    """Defaults: no columns, no primary metric, nothing printed, no charts."""

    name: ClassVar[str] = "base"

    def columns(self, result: dict) -> list[Column]:
        return []

    def primary_metric(self, result: dict) -> str | None:
        return None

    def report(self, result: dict) -> list:
        return []

    def charts(self, result: dict) -> list[Chart]:
        return []
