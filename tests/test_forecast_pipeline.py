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
