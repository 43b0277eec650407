"""Guessability and repetition of the DIA generator's templates, and how often adversarial
hints are right: 1,000 instances per template with one seed (what tests/test_dia_templates.py
bounds), printed as one line per template and a summary.

    python benchmarks/dia_template_stats.py [--instances 1000] [--seed 0] [--worst 15]

Measured on the build machine (2 cores; 25 s of CPU) for generator version 2, 194 templates,
seed 0, 1,000 instances each:
- most common answer: at most 3.8% of a template's instances (`count_character_adversarial`;
  median 0.1%). The 53 templates before had `longest_increasing_subsequence` at 35.1%,
  `edit_distance` 27.9%, `count_not_found` 18.7%, `divisor_count` 15.0% (15 possible answers),
  `popcount` 10.5%, `salted_hash_lookup` 6.2%;
- repeated questions within the seed: 0 for every template. Before, 12 of the 53 repeated,
  `basic_auth_credentials` 695 times in 1,000 (305 distinct questions), `digit_sum_of_power` 240;
- adversarial hints right, before: `busiest_ip` 0/1,000 (the note always named the runner-up),
  `evaluate_rpn` 0/1,000 (the comment was the answer plus 1-49, so always above it),
  `salted_hash_lookup` 0/1,000 (the colleague's guess was never the password). After: hints
  drawn from the question's visible candidates are right as often as a blind guess among them
  (`busiest_ip` 221 against 200 expected, `salted_hash_lookup` 87 against 100,
  `flask_route_without_method` 241 against 211), and hints drawn as an independent instance's
  answer as often as two instances agree (0-15 in 1,000).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import Counter

from codeharness.tasks import dia_templates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--worst", type=int, default=15, help="templates to list, by most common answer")
    args = parser.parse_args()
    rows, start = [], time.perf_counter()
    for template in dia_templates.TEMPLATES:
        questions = [template.question(args.seed, i) for i in range(1, args.instances + 1)]
        answers = Counter(q.answer for q in questions)
        texts = {dia_templates.describe(q) + dia_templates.instructions(q) for q in questions}
        chance = sum(1 / len(q.candidates) for q in questions) / len(questions) if questions[0].candidates else None
        hint = (sum(q.hint == q.answer for q in questions), chance) if template.adversarial else None
        rows.append((answers.most_common(1)[0][1] / args.instances, len(answers), args.instances - len(texts),
                     template, hint))
    elapsed = time.perf_counter() - start
    print(f"{len(rows)} templates x {args.instances} instances (seed {args.seed}) in {elapsed:.1f} s")
    print(f"most common answer: max {max(r[0] for r in rows):.1%}, median {statistics.median(r[0] for r in rows):.1%}")
    print(f"repeated questions: {sum(r[2] for r in rows)} in all; templates with any: "
          f"{[r[3].name for r in rows if r[2]]}")
    print(f"\n{args.worst} templates with the most common answers:")
    for share, distinct, _, template, _ in sorted(rows, key=lambda r: -r[0])[:args.worst]:
        print(f"  {template.id:3d} {template.name:34s} {share:6.1%} of {distinct} distinct answers")
    print("\nadversarial hints right:")
    for _, _, _, template, hint in rows:
        if hint:
            right, chance = hint
            expected = (f"a blind guess among the candidates: {chance * args.instances:.0f} expected" if chance
                        else "drawn as an independent instance's answer")
            print(f"  {template.id:3d} {template.name:34s} {right:4d}/{args.instances} ({expected})")


if __name__ == "__main__":
    main()
