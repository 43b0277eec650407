"""Consensus sets: the groups of solutions with identical rows in a pass matrix."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class ConsensusGroups:
    patterns: np.ndarray  # (groups, tests) bool: the row all members share
    members: np.ndarray  # (solutions,) int: the group of each solution
    sizes: np.ndarray  # (groups,) int
    test_pass_counts: np.ndarray  # (tests,) int: how many solutions pass each test

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.members), self.patterns.shape[1]

    @property
    def tests_passed(self) -> np.ndarray:
        return self.patterns.sum(axis=1)

    def solutions_in(self, groups: np.ndarray) -> np.ndarray:
        """Indices of the solutions that belong to any of the given groups."""
        return np.flatnonzero(np.isin(self.members, groups))


def consensus_groups(passes: np.ndarray) -> ConsensusGroups:
    """Group identical rows. Rows are packed into bytes first, so grouping costs one sort
    of N short byte strings whatever M is."""
    passes = np.asarray(passes, dtype=bool)
    n, m = passes.shape
    if m == 0:
        members = np.zeros(n, dtype=np.intp)
        return ConsensusGroups(np.zeros((min(n, 1), 0), bool), members,
                               np.array([n] if n else [], dtype=np.intp), np.zeros(0, np.intp))
    packed = np.ascontiguousarray(np.packbits(passes, axis=1))
    keys = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
    _, first, members, sizes = np.unique(keys, return_index=True, return_inverse=True,
                                         return_counts=True)
    return ConsensusGroups(passes[first], members.ravel(), sizes, passes.sum(axis=0))
