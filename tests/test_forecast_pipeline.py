"""The simulation's parts start while the year so far is still being observed (issue 16 item 1):
the activities' parts as soon as the activities are classified, on the pool, before the other
KPIs are observed; the numbers stay those of observing first and simulating after."""

from __future__ import annotations

import dataclasses
import threading

import numpy as np
import pandas as pd
import pytest
from test_forecast import Q3_END, ctx_at, year_tables

from qyzj_analytics.forecast import observe as observe_module
from qyzj_analytics.forecast import simulate
from qyzj_analytics.forecast.observe import observe


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return year_tables()


def _same_draws(a: simulate.YearEndDraws, b: simulate.YearEndDraws) -> None:
    assert a.values.keys() == b.values.keys()
    for kpi_id, values in a.values.items():
        np.testing.assert_array_equal(b.values[kpi_id], values)
    np.testing.assert_array_equal(b.online_months, a.online_months)
    np.testing.assert_array_equal(b.appeals.closed, a.appeals.closed)
    np.testing.assert_array_equal(b.coverage.future, a.coverage.future)
    assert (b.notes, b.livestream_done, b.missing) == (a.notes, a.livestream_done, a.missing)


def test_parts_start_before_the_year_is_observed_and_draw_the_same_numbers(
    tables: dict[str, pd.DataFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = ctx_at(Q3_END, tables)
    obs = observe(ctx)
    serial = simulate.simulate_year_end(ctx_at(Q3_END, tables), 3000, 5, obs)

    events: list[str] = []
    offline_started = threading.Event()
    offline, observe_real = simulate._simulate_offline, observe_module.observe

    def spy_offline(*args: object) -> dict:
        events.append(f"offline on {threading.current_thread().name}")
        offline_started.set()
        return offline(*args)

    def spy_observe(*args: object, **kwargs: object) -> observe_module.Observed:
        assert offline_started.wait(10)  # already running on the pool
        events.append("observe")
        return observe_real(*args, **kwargs)

    monkeypatch.setattr(simulate, "PARALLEL_DRAWS", 0)
    monkeypatch.setattr(simulate, "_usable_cpus", lambda: 2)
    monkeypatch.setattr(simulate, "_simulate_offline", spy_offline)
    monkeypatch.setattr(simulate, "observe", spy_observe)
    seen, threaded = simulate.observe_and_simulate(ctx_at(Q3_END, tables), 3000, 5)
    assert events[0].startswith("offline on qyzj-sim") and events[1] == "observe"
    _same_draws(serial, threaded)
    for field in dataclasses.fields(obs):
        got, want = getattr(seen, field.name), getattr(obs, field.name)
        if isinstance(want, pd.DataFrame | pd.Series):
            assert got.equals(want), field.name
        else:
            assert got == want, field.name


def test_one_thread_observes_then_simulates_the_same(tables: dict[str, pd.DataFrame]) -> None:
    ctx = ctx_at(Q3_END, tables)
    serial = simulate.simulate_year_end(ctx, 2000, 9, observe(ctx))
    _, again = simulate.observe_and_simulate(ctx_at(Q3_END, tables), 2000, 9)
    _same_draws(serial, again)


def test_meanwhile_runs_on_the_main_thread_while_the_parts_run(
    tables: dict[str, pd.DataFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The outlook imports its summary's and planner's modules while the pool simulates
    (issue 16 item 1): ``meanwhile`` runs once every part has started, before their results
    are awaited, and the draws stay the same."""
    ctx = ctx_at(Q3_END, tables)
    serial = simulate.simulate_year_end(ctx, 3000, 5, observe(ctx))
    release = threading.Event()
    started: list[str] = []
    courses = simulate._simulate_total

    def held_total(*args: object) -> np.ndarray:
        started.append(str(args[-1]))
        assert release.wait(10)  # the part waits for meanwhile: meanwhile cannot wait for it
        return courses(*args)

    calls: list[tuple[str, list[str]]] = []

    def meanwhile() -> None:
        calls.append((threading.current_thread().name, sorted(started)))
        release.set()

    monkeypatch.setattr(simulate, "PARALLEL_DRAWS", 0)
    monkeypatch.setattr(simulate, "_usable_cpus", lambda: 2)
    monkeypatch.setattr(simulate, "_simulate_total", held_total)
    _, threaded = simulate.observe_and_simulate(ctx, 3000, 5, meanwhile=meanwhile)
    assert len(calls) == 1 and calls[0][0] == threading.main_thread().name
    _same_draws(serial, threaded)


def test_outlook_modules_after_the_draws_are_imported_while_simulating() -> None:
    """``import_after_draws`` imports what the outlook needs after the draws; a fresh process
    that imports the outlook alone has not imported them yet (they load during the wait)."""
    import subprocess
    import sys

    from qyzj_analytics.forecast.outlook import AFTER_DRAWS

    code = (
        "import sys; import qyzj_analytics.forecast.outlook as o; "
        "before = [m for m in o.AFTER_DRAWS if m in sys.modules]; "
        "o.import_after_draws(); "
        "print(before, all(m in sys.modules for m in o.AFTER_DRAWS))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert "qyzj_analytics.forecast.plan" in AFTER_DRAWS
    assert out[-1] == "True"
    assert "plan'" not in " ".join(out) and "result'" not in " ".join(out)
