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
    answers_per_template = sorted({sum(c[v] for v in ("correct", "wrong", "skipped")) for c in templates.values()})
    result = {"k": answers_per_template[0] if len(answers_per_template) == 1 else answers_per_template,
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


class DiaScorer:
    name = "dia"

    def score(self, task, problems, generations, executions) -> dict:
        return dia_metrics([execution.details for execution in executions])


def summary_line(metrics: dict) -> str:
    return (f"DIA: RS@{metrics['k']} {metrics['reliability_score']:.2f} over {metrics['templates']} templates; "
            f"Confidence Index {metrics['confidence_index']['count']} ({metrics['confidence_index']['percent']:.1f}%); "
            f"Near-Miss {metrics['near_miss']['count']} ({metrics['near_miss']['percent']:.1f}%); "
            f"correct {metrics['correct']}, wrong {metrics['wrong']}, skipped {metrics['skipped']}")
