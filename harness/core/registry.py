"""Registries of the pluggable parts: tasks, model backends, sandboxes and scorers.

Built-ins register themselves with a decorator in their own module (`@registry.tasks.register`
over a class; its `name` attribute is the name it is known by);
a registry imports the modules of its built-in package the first time it is asked for a
name (private modules, `_name.py`, are left to be imported by their users: that is where
heavy engines live), so the command line's help loads none of them. Third-party packages add parts
through Python entry points in the groups `codeharness.tasks`, `codeharness.backends`,
`codeharness.sandboxes` and `codeharness.scorers`: `name = "package.module:Class"`, where
the entry point's name is the class's `name`.
"""

from __future__ import annotations

import importlib
import pkgutil
from importlib import metadata
from typing import Any, Generic, TypeVar

from codeharness.core.errors import HarnessError

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str, builtin_packages: tuple[str, ...], entry_point_group: str):
        self.kind = kind
        self.builtin_packages = builtin_packages
        self.entry_point_group = entry_point_group
        self._parts: dict[str, T] = {}
        self._origins: dict[str, str] = {}
        self._loaded = False

    def register(self, part: T) -> T:
        """Class decorator: registers the class under its `name` attribute."""
        self._add(part.name, part, part.__module__)  # type: ignore[attr-defined]
        return part

    def get(self, name: str) -> T:
        self._load()
        if name not in self._parts:
            raise HarnessError(f"unknown {self.kind} {name!r}; known: {', '.join(self.names())}")
        return self._parts[name]

    def names(self) -> list[str]:
        self._load()
        return sorted(self._parts)

    def origin(self, name: str) -> str:
        """The module (built-in) or distribution (plugin) a part comes from."""
        self._load()
        return self._origins[name]

    def _add(self, name: str, part: T, origin: str) -> None:
        if name in self._parts and self._parts[name] is not part:
            raise HarnessError(f"two {self.kind}s named {name!r}: {self._origins[name]} and {origin}")
        self._parts[name] = part
        self._origins[name] = origin

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        for name in self.builtin_packages:
            package = importlib.import_module(name)
            for module in pkgutil.iter_modules(package.__path__, prefix=name + "."):
                if not module.name.rpartition(".")[2].startswith("_"):
                    importlib.import_module(module.name)
        for entry_point in metadata.entry_points(group=self.entry_point_group):
            part = _load_entry_point(entry_point)
            if vars(part).get("name") != entry_point.name:
                raise HarnessError(f"plugin entry point {entry_point.name!r} ({entry_point.value}) "
                                   f"must name a class whose `name` is {entry_point.name!r}")
            self._add(entry_point.name, part, f"{entry_point.value} ({_distribution(entry_point)})")


def _load_entry_point(entry_point: metadata.EntryPoint) -> Any:
    try:
        return entry_point.load()
    except Exception as exc:  # a broken plugin must not take the harness down with a traceback
        raise HarnessError(f"plugin {entry_point.name!r} ({entry_point.value}, group "
                           f"{entry_point.group}) failed to load: {type(exc).__name__}: {exc}") from exc


def _distribution(entry_point: metadata.EntryPoint) -> str:
    dist = entry_point.dist
    return f"{dist.name} {dist.version}" if dist is not None else "plugin"


tasks: Registry[Any] = Registry("task", ("codeharness.tasks",), "codeharness.tasks")
backends: Registry[Any] = Registry("backend", ("codeharness.backends",), "codeharness.backends")
sandboxes: Registry[Any] = Registry("sandbox", ("codeharness.sandbox",), "codeharness.sandboxes")
# Tasks may define their own scorers next to them (one file per benchmark).
scorers: Registry[Any] = Registry("scorer", ("codeharness.scorers", "codeharness.tasks"), "codeharness.scorers")
