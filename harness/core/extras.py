"""Optional extras: heavy dependencies are imported where they are used, and a missing one is
one clear line with the pip command that installs it."""

from __future__ import annotations

import importlib.util

from codeharness.core.errors import HarnessError


def require_extra(purpose: str, extra: str, *modules: str) -> None:
    """`extra` names the extra that brings the modules, or alternatives (`cpu|gpu`)."""
    missing = [module for module in modules if importlib.util.find_spec(module) is None]
    if missing:
        install = " or ".join(f"pip install 'codeharness[{name}]'" for name in extra.split("|"))
        raise HarnessError(f"{purpose} needs {', '.join(missing)}, which is not installed: {install}")
