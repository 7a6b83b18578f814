"""The code's layout: every module imports only from its own floor or those below it (no circles, no
upward imports), and no module (tests included) imports another module's private names."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "dlc_recurrent"

#: Floors, bottom up: shared ground, then the stages in the order the data flows, then the front.
FLOORS = [
    ["_version", "_logging", "_import_order", "kinds", "errors", "measures"],
    ["fileio", "frames", "locks", "_tensorflow", "devices", "precision"],
    ["project", "config"],
    ["layout", "synthetic"],
    ["distill"],
    ["models"],
    ["training"],
    ["inference"],
    ["ensemble"],
    ["evaluation"],
    ["cli", "demo", "pipeline", "__init__", "__main__"],
]
FLOOR = {name: level for level, names in enumerate(FLOORS) for name in names}


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        yield ".".join(("dlc_recurrent",) + parts).removesuffix(".__init__"), parts, path


def _imports(path: Path):
    """(module imported from, names) of every ``from dlc_recurrent... import`` in ``path``, at any depth."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "dlc_recurrent":
            yield node.module, [alias.name for alias in node.names]


def test_every_module_has_a_floor():
    tops = {parts[0] for _, parts, _ in _modules()}
    assert tops <= set(FLOOR), f"give these a floor in FLOORS: {sorted(tops - set(FLOOR))}"


@pytest.mark.parametrize("name, parts, path", list(_modules()), ids=lambda value: str(value))
def test_no_module_imports_from_a_floor_above_its_own(name, parts, path):
    own = FLOOR[parts[0]]
    for module, names in _imports(path):
        if module == "dlc_recurrent":  # a submodule ("from dlc_recurrent import models") or a name of __init__
            targets = [n if n in FLOOR or (PACKAGE / n).is_dir() else "__init__" for n in names]
        else:
            targets = [module.split(".")[1]]
        for target in targets:
            if target != parts[0]:
                assert FLOOR[target] <= own, f"{name} imports {module} ({target}, a floor above it)"


def _private_imports(paths):
    for path in paths:
        for module, names in _imports(path):
            for imported in names:
                is_module = (PACKAGE.joinpath(*module.split(".")[1:]) / f"{imported}.py").is_file()
                if imported.startswith("_") and not imported.startswith("__") and not is_module:
                    yield path.name, module, imported


def test_no_module_or_test_imports_another_modules_private_names():
    tests = sorted(Path(__file__).parent.rglob("*.py"))
    found = list(_private_imports([path for _, _, path in _modules()] + tests))
    assert not found, f"private names imported across modules: {found}"
