"""Lazy lookup of pluggable parts by dotted path, so heavy modules load only when used."""

from __future__ import annotations

import importlib


def load_object(path: str):
    """'package.module:attribute' -> the attribute, importing the module on first use."""
    module_name, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module_name), attribute)
