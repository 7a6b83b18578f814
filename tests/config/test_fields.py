"""The configs (dlc_recurrent.config): plain data without TensorFlow, and every constrained field
checked one way (dlc_recurrent.config.fields)."""

import dataclasses
import subprocess
import sys

import pytest

from dlc_recurrent.config import TrainingConfig, TrainingSetSpec, allowed_range, check_fields, choice, number


def _constrained(config_class):
    return [(config_class, spec) for spec in dataclasses.fields(config_class)
            if "choices" in spec.metadata or "range" in spec.metadata]


def _outside(spec):
    """A value the field must refuse."""
    if "choices" in spec.metadata:
        return "no-such-choice"
    low, high, open_low, open_high = spec.metadata["range"]
    if low is not None:
        return low if open_low else low - 1
    return high if open_high else high + 1


CONSTRAINED = _constrained(TrainingConfig) + _constrained(TrainingSetSpec)


def test_the_configs_constrain_their_fields():
    names = {spec.name for _, spec in CONSTRAINED}
    assert {"model", "schedule", "max_steps", "learning_rate", "occluder_probability", "memory", "window_length",
            "scale", "max_gap_fill"} <= names


@pytest.mark.parametrize("config_class, spec", CONSTRAINED, ids=lambda value: getattr(value, "name", ""))
def test_a_value_outside_a_fields_choices_or_range_is_refused_naming_the_field(config_class, spec):
    config_class()  # the defaults pass
    with pytest.raises(ValueError, match=rf"^{spec.name} must be "):
        config_class(**{spec.name: _outside(spec)})


def test_a_field_check_says_what_is_allowed():
    @dataclasses.dataclass
    class Example:
        kind: str = choice("a", ("a", "b"))
        share: float = number(0.5, 0, 1, open_low=True)
        count: int | None = number(None, 1)

    check_fields(Example(count=None))
    with pytest.raises(ValueError, match=r"share must be in \(0, 1\], got 0"):
        check_fields(Example(share=0))
    with pytest.raises(ValueError, match=r"count must be >= 1, got 0"):
        check_fields(Example(count=0))
    with pytest.raises(ValueError, match=r"kind must be one of \('a', 'b'\), got 'c'"):
        check_fields(Example(kind="c"))
    with pytest.raises(ValueError, match=r"share must be a number, got 'half'"):
        check_fields(Example(share="half"))
    assert allowed_range(None, 4, open_high=True) == "< 4"


def test_fields_that_relate_are_checked_together():
    with pytest.raises(ValueError, match="block_length .* must be at least window_length"):
        TrainingSetSpec(window_length=15, block_length=10)
    with pytest.raises(ValueError, match="min_steps <= max_steps"):
        TrainingConfig(min_steps=500, max_steps=100)
    with pytest.raises(ValueError, match="occluder_size must be \\(smallest, largest\\)"):
        TrainingConfig(occluder_size=(0.3, 0.1))
    assert TrainingConfig(memory="maps").skip_connection  # a memory of maps needs the skip connection


def test_the_configs_load_without_tensorflow():
    code = ("import sys; import dlc_recurrent.config; "
            "assert 'tensorflow' not in sys.modules and 'tf_keras' not in sys.modules, 'tensorflow was imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
