"""DIA-Bench metrics over templates, each answered k times (Tihanyi et al., 2024).

For a template with c correct, w wrong and s skipped answers out of k:
- Task Success Rate TSR = c / k;
- the template counts toward the Confidence Index when c = k, and toward the Near-Miss
  Score when 0.8 <= c / k < 1;
- it adds (c - 2w) / k to the Reliability Score RS@k (for equal k, the official
  (1/k) * sum over templates of (c - 2w)).

Everything is computed from the executions' details (template, category, level, verdict),
so a run directory's metrics can be recomputed from its records alone. Each sample of each
question is one answer: n samples of k instances make k*n answers per template.
"""

from __future__ import annotations

from collections import defaultdict

from codeharness.core import registry
from codeharness.scorers.base import BaseScorer, Chart, Column

NEAR_MISS = 0.8


def template_counts(answers: list[dict]) -> dict[int, dict]:
    """template id -> its category, level and counts of correct, wrong and skipped answers."""
    templates: dict[int, dict] = {}
    for answer in answers:
        counts = templates.setdefault(answer["template_id"], {
            "category": answer["category"], "level": answer["level"],
            "correct": 0, "wrong": 0, "skipped": 0})
        counts[answer["verdict"]] += 1
    return templates


def summary(templates: dict[int, dict]) -> dict:
    """RS, Confidence Index, Near-Miss Score and answer counts over a set of templates."""
    rates = {}
    reliability = 0.0
    for template_id, counts in templates.items():
        k = counts["correct"] + counts["wrong"] + counts["skipped"]
        rates[template_id] = counts["correct"] / k
        reliability += (counts["correct"] - 2 * counts["wrong"]) / k
    total = len(templates)
    confident = sum(rate == 1 for rate in rates.values())
    near_miss = sum(NEAR_MISS <= rate < 1 for rate in rates.values())
    return {
        "templates": total,
        "reliability_score": reliability,
        "confidence_index": {"count": confident, "percent": 100 * confident / total if total else 0.0},
        "near_miss": {"count": near_miss, "percent": 100 * near_miss / total if total else 0.0},
        "mean_task_success_rate": sum(rates.values()) / total if total else 0.0,
        **{verdict: sum(c[verdict] for c in templates.values()) for verdict in ("correct", "wrong", "skipped")},
    }


def dia_metrics(answers: list[dict]) -> dict:
    templates = template_counts(answers)
    answered = {template_id: sum(c[v] for v in ("correct", "wrong", "skipped"))
                for template_id, c in templates.items()}
    k = max(answered.values(), default=0)
    result = {"k": k,
              # Templates answered fewer than k times are not normalized to k: RS@k and the
              # rates use their own counts, and they are listed here so no one misreads them.
              "short_templates": {str(t): n for t, n in sorted(answered.items()) if n < k},
              **summary(templates)}
    for key in ("category", "level"):
        groups: dict[str, dict[int, dict]] = defaultdict(dict)
        for template_id, counts in templates.items():
            groups[counts[key]][template_id] = counts
        result[f"by_{key}"] = {name: summary(group) for name, group in sorted(groups.items())}
    result["task_success_rate"] = {
        str(template_id): counts["correct"] / (counts["correct"] + counts["wrong"] + counts["skipped"])
        for template_id, counts in sorted(templates.items())}
    return result


@registry.scorers.register
class DiaScorer(BaseScorer):
    name = "dia"

    def score(self, task, problems, generations, executions) -> dict:
        return dia_metrics([execution.details for execution in executions])

    def columns(self, result: dict) -> list[Column]:
        return [Column("DIA RS@k", result["reliability_score"]), Column("DIA k", str(result["k"])),
                Column("DIA CI %", result["confidence_index"]["percent"]),
                Column("DIA NMS %", result["near_miss"]["percent"]),
                Column("DIA mean TSR", result["mean_task_success_rate"], percent=True)]

    def primary_metric(self, result: dict) -> str | None:
        return "DIA RS@k"

    def report(self, result: dict) -> list:
        lines = [summary_line(result)]
        if result["short_templates"]:
            lines.append(f"[yellow]{len(result['short_templates'])} template(s) answered fewer than "
                         f"k={result['k']} times (their metrics use their own counts): "
                         f"{', '.join(result['short_templates'])}[/]")
        return lines

    def charts(self, result: dict) -> list[Chart]:
        return [Chart("dia_reliability", "point", "DIA: reliability vs success",
                      "mean task success rate (%)", "reliability score RS@k",
                      [[100 * result["mean_task_success_rate"], result["reliability_score"]]])]


def summary_line(metrics: dict) -> str:
    return (f"DIA: RS@{metrics['k']} {metrics['reliability_score']:.2f} over {metrics['templates']} templates; "
            f"Confidence Index {metrics['confidence_index']['count']} ({metrics['confidence_index']['percent']:.1f}%); "
            f"Near-Miss {metrics['near_miss']['count']} ({metrics['near_miss']['percent']:.1f}%); "
            f"correct {metrics['correct']}, wrong {metrics['wrong']}, skipped {metrics['skipped']}")
