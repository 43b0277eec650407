"""Scorers: each reads a run's problems, generations and executions and returns metrics,
with the columns, primary metric, console report and charts that show them
(`codeharness.scorers.base`)."""

from __future__ import annotations

from codeharness.scorers.base import Scorer
from codeharness.scorers.hallucination import EMBEDDED_TOKENIZER, HallucinationProfile
from codeharness.scorers.outcomes import PassAtK, StatusCounts


def default_scorers(primary_group: str = "base", breakdown_tokenizer: str = EMBEDDED_TOKENIZER) -> list[Scorer]:
    """pass@k (ranked by `primary_group`'s pass@1), outcome counts and the hallucination
    profile of failed samples: what every task's runs report unless the task says otherwise."""
    return [PassAtK(primary_group), StatusCounts(), HallucinationProfile(breakdown_tokenizer)]
