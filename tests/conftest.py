"""Settings every test shares."""

from hypothesis import settings

# Hypothesis's per-example deadline is a timing assertion: on two shared cores
# it fails examples that are correct but slow. Speed is measured by the
# benchmarks, never by tests.
settings.register_profile("caseledger", deadline=None)
settings.load_profile("caseledger")
