"""B4 and CodeT selection on a 1,000 x 1,000 pass matrix; target: under one second each.

The matrix comes from the B4 paper's generative model (200 correct solutions sharing one
row, 800 wrong ones with nearly all rows distinct), the hard case for grouping. Prints the
median time of each selector over several runs and its ratio to the target.

    python benchmarks/selection_speed.py
"""

from __future__ import annotations

import statistics
import time

import numpy as np
from codeharness.scorers import selectors

SOLUTIONS = TESTS = 1000
TARGET_S = 1.0
REPEATS = 7


def generative_matrix(rng: np.random.Generator) -> np.ndarray:
    correct = rng.random(SOLUTIONS) < 0.2
    valid = rng.random(TESTS) < 0.3
    draws = rng.random((SOLUTIONS, TESTS))
    wrong = np.where(valid, draws < 0.4, draws < 0.1)
    return np.where(correct[:, None], valid[None, :], wrong)


def median_seconds(select, passes: np.ndarray) -> float:
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        select(passes)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    passes = generative_matrix(np.random.default_rng(0))
    distinct = len(np.unique(passes, axis=0))
    print(f"matrix {SOLUTIONS} x {TESTS}, {distinct} distinct rows, {REPEATS} runs each")
    for name in ("b4", "codet"):
        seconds = median_seconds(selectors.SELECTORS[name], passes)
        print(f"{name:6s} {seconds * 1000:8.2f} ms   {seconds / TARGET_S:.4f} x target "
              f"({TARGET_S:g} s)")


if __name__ == "__main__":
    main()
