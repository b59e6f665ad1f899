"""The bad-input audit (issue 18) as tests: every public function refuses bad arguments clearly.

The matrix of :mod:`bad_input_audit` (one valid call per public function, bad calls derived
from the kind of each argument) runs once, in one worker process with a per-call timeout and
a memory limit; each valid call must return and each bad call must be ``clear``: a ValueError
or TypeError naming the argument, raised quickly (no MemoryError, no hang, nothing silent).
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bad_input_audit as audit

CALLS = audit.calls()


@pytest.fixture(scope="module")
def results():
    """{call id: (outcome, detail)} of the whole matrix, run once."""
    return audit.audit()


def test_registry_covers_every_public_function():
    """A new public function needs an entry in bad_input_audit.REGISTRY (or one in EXCLUDED)."""
    public = set(audit.public_functions())
    missing = sorted(public - set(audit.REGISTRY) - set(audit.EXCLUDED))
    stale = sorted((set(audit.REGISTRY) | set(audit.EXCLUDED)) - public)
    assert not missing, f"public functions without an audit entry: {missing}"
    assert not stale, f"audit entries for names that are not public functions: {stale}"


@pytest.mark.parametrize("call", [c for c in CALLS if c.arg is None], ids=lambda c: c.id)
def test_valid_call_works(results, call):
    outcome, detail = results[call.id]
    assert outcome == "ok", f"{call.id}: {detail}"


@pytest.mark.parametrize("call", [c for c in CALLS if c.arg is not None], ids=lambda c: c.id)
def test_bad_call_is_refused_clearly(results, call):
    outcome, detail = results[call.id]
    assert outcome == "clear", f"{call.id} is {outcome}: {detail}"
