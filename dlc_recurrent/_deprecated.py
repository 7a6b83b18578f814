"""Old import paths of names that moved to another module: still found, with a DeprecationWarning that
says where the name lives now (the old paths go in a later version; see the README's architecture)."""

from __future__ import annotations

import importlib
import warnings


def forwarder(old_module: str, moved: dict[str, str]):
    """A module ``__getattr__`` for ``old_module`` that finds each moved name ``old`` at ``moved[old]``,
    written ``"package.module"`` (same name) or ``"package.module:new_name"``."""

    def __getattr__(name: str):
        if name not in moved:
            raise AttributeError(f"module {old_module!r} has no attribute {name!r}")
        module, _, new_name = moved[name].partition(":")
        new_name = new_name or name
        warnings.warn(f"{old_module}.{name} moved to {module}.{new_name}; import it from there (the old path "
                      "will be removed in a later version)", DeprecationWarning, stacklevel=2)
        return getattr(importlib.import_module(module), new_name)

    __getattr__.moved = moved
    return __getattr__
