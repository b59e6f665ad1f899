"""The package's import graph (issue 17): physics modules never import the ensemble machinery or
matplotlib, there are no import cycles, and importing one module loads only what it needs."""

import ast
import pathlib
import subprocess
import sys

import nqlib

ROOT = pathlib.Path(nqlib.__file__).parent


def _nqlib_imports(path):
    """Names of the nqlib modules that the module at ``path`` imports (any form)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module == "nqlib":
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("nqlib."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("nqlib.")}
    return found


GRAPH = {p.stem: _nqlib_imports(p) for p in ROOT.glob("*.py") if p.stem != "__init__"}


def test_physics_modules_do_not_import_the_ensemble_or_plotting():
    for name in nqlib.PHYSICS:
        assert not GRAPH[name] & {"ensemble", "plotting"}, (name, GRAPH[name])


def test_the_import_graph_has_no_cycles():
    state = {}

    def visit(name, path):
        if state.get(name) == "open":
            raise AssertionError(f"import cycle: {' -> '.join(path + [name])}")
        if state.get(name) == "done":
            return
        state[name] = "open"
        for other in GRAPH.get(name, ()):
            visit(other, path + [name])
        state[name] = "done"

    for name in GRAPH:
        visit(name, [])


def test_the_graph_sees_the_imports():
    """The parser is not blind: known edges are found."""
    assert {"_checks", "cumulants"} <= GRAPH["qssep"] and "_lifeline" in GRAPH["ensemble"]


def test_model_free_cumulants_and_qssep_import_no_other_model():
    """Issue 17: the cumulant tools are model-free, and QSSEP does not import the models whose
    loop statistics moved out of it (its deprecated aliases import them lazily)."""
    assert GRAPH["cumulants"] <= {"_checks", "stats"}, GRAPH["cumulants"]
    assert not GRAPH["qssep"] & {"anderson", "freecircuit"}, GRAPH["qssep"]
    assert "cumulants" in GRAPH["anderson"] | GRAPH["freecircuit"]


def test_importing_one_module_loads_only_what_it_needs():
    code = (
        "import sys, nqlib.anderson; "
        "print(sorted(m for m in sys.modules if m.startswith('nqlib.') or m in "
        "('matplotlib', 'tqdm', 'distributed')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(eval(out.stdout))
    assert "nqlib.anderson" in loaded
    assert not loaded & {"nqlib.ensemble", "matplotlib", "tqdm", "distributed"}, loaded


def test_every_module_is_reachable_from_the_package():
    """The lazy package attribute gives each module named in __all__ (and refuses others)."""
    for name in nqlib.__all__:
        if name != "__version__":
            assert getattr(nqlib, name).__name__ == f"nqlib.{name}"
    try:
        nqlib.not_a_module
    except AttributeError as error:
        assert "not_a_module" in str(error)
    else:
        raise AssertionError("nqlib.not_a_module did not raise AttributeError")
    # nqlib.abc: the deprecated alias of abcmodel, importable but not listed (importing it warns)
    assert set(nqlib.__all__) - {"__version__"} == {p.stem for p in ROOT.glob("[!_]*.py")} - {"abc"}
    assert "abc" not in nqlib.__all__ and "abcmodel" in nqlib.PHYSICS
