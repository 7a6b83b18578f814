"""Config fields that say what they accept, and one check for all of them.

A field made with :func:`choice` or :func:`number` carries its allowed values in its metadata;
:func:`check_fields` checks every such field of a config the same way, so a config's own checks
are only the ones that relate two fields.
"""

from __future__ import annotations

from dataclasses import Field, field, fields
from typing import Any


def choice(default: Any, choices: tuple) -> Field:
    """A field that takes one of ``choices`` (default ``default``), checked by :func:`check_fields`.

    Args:
        default: the field's value when a config does not set it.
        choices: every value the field accepts.

    Returns:
        A dataclass field whose metadata carries the choices.
    """
    return field(default=default, metadata={"choices": tuple(choices)})


def number(default: Any, low: float | None = None, high: float | None = None, *, open_low: bool = False,
           open_high: bool = False) -> Field:
    """A numeric field within [low, high], checked by :func:`check_fields`.

    A field whose default is None may also be None ("not set").

    Args:
        default: the field's value when a config does not set it.
        low: the smallest allowed value; None for no lower bound.
        high: the largest allowed value; None for no upper bound.
        open_low: leave ``low`` itself out of the range.
        open_high: leave ``high`` itself out of the range.

    Returns:
        A dataclass field whose metadata carries the range.
    """
    return field(default=default, metadata={"range": (low, high, open_low, open_high)})


def allowed_range(low: float | None, high: float | None, open_low: bool = False, open_high: bool = False) -> str:
    """The range in words, as messages give it: "in (0, 1]", ">= 1", "<= 4".

    Args:
        low: the smallest allowed value, or None (then ``high`` must be given).
        high: the largest allowed value, or None.
        open_low: ``low`` itself is not allowed.
        open_high: ``high`` itself is not allowed.

    Returns:
        The range as a short phrase.
    """
    if low is not None and high is not None:
        return f"in {'(' if open_low else '['}{low:g}, {high:g}{')' if open_high else ']'}"
    if low is not None:
        return f"{'>' if open_low else '>='} {low:g}"
    return f"{'<' if open_high else '<='} {high:g}"


def in_range(value: float, low: float | None, high: float | None, open_low: bool = False,
             open_high: bool = False) -> bool:
    """Whether ``value`` lies in the range (see :func:`number`).

    Args:
        value: the number to check.
        low: the smallest allowed value; None for no lower bound.
        high: the largest allowed value; None for no upper bound.
        open_low: leave ``low`` itself out of the range.
        open_high: leave ``high`` itself out of the range.

    Returns:
        True when ``value`` is within both bounds.
    """
    above = low is None or (value > low if open_low else value >= low)
    below = high is None or (value < high if open_high else value <= high)
    return above and below


def check_fields(config: Any) -> None:
    """Check every :func:`choice` and :func:`number` field of the dataclass instance ``config``.

    Args:
        config: a dataclass instance (``TrainingConfig``, ``TrainingSetSpec``...).

    Raises:
        ValueError: naming the first field whose value is not allowed, what is allowed, and the value.
    """
    for spec in fields(config):
        value = getattr(config, spec.name)
        if "choices" in spec.metadata and value not in spec.metadata["choices"]:
            raise ValueError(f"{spec.name} must be one of {spec.metadata['choices']}, got {value!r}")
        if "range" in spec.metadata and not (value is None and spec.default is None):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{spec.name} must be a number, got {value!r}")
            if not in_range(value, *spec.metadata["range"]):
                raise ValueError(f"{spec.name} must be {allowed_range(*spec.metadata['range'])}, got {value!r}")
