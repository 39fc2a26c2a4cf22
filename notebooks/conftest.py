"""nbval session hook: every notebook's kernel must stay under Binder's memory budget.

Each notebook runs in its own kernel, a child process of this pytest; once reaped, the largest
peak resident set of any child is what ``getrusage(RUSAGE_CHILDREN)`` reports. Binder gives an
instance about 2 GB, so a kernel may use at most 1.3 GB.
"""

from __future__ import annotations

import resource
import sys

import pytest

LIMIT_BYTES = int(1.3 * 1024**3)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if sys.platform != "linux" or session.testscollected == 0:
        return
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # KiB on Linux
    line = f"notebook kernels: peak memory {peak / 1024**2:.0f} MiB (limit {LIMIT_BYTES / 1024**2:.0f} MiB)"
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.ensure_newline()
        reporter.write_line(line)
    if peak > LIMIT_BYTES:
        if reporter is not None:
            reporter.write_line("FAILED: a notebook kernel used more memory than Binder allows", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
