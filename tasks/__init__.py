"""Benchmarks, one module each, registered by name in `codeharness.core.registry.tasks`."""

from __future__ import annotations

from codeharness.core import registry


def create_task(name: str, **options):
    return registry.tasks.get(name).create(**options)
