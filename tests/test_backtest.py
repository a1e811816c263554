"""Backtest of the forecast against simulated years with known processes."""

from __future__ import annotations

import numpy as np
import pytest
from builders import CONTRACT

from qyzj_analytics.cli import main
from qyzj_analytics.forecast.backtest import (
    COVERAGE_GOAL,
    backtest_to_dict,
    format_backtest,
    run_backtest,
)
from qyzj_analytics.forecast.backtest_years import draw_process, simulate_tables
from qyzj_analytics.ingest.facts import Facts
from qyzj_analytics.ingest.processed import empty_table
from qyzj_analytics.scoring.kpi import KpiContext, compute_actuals


def test_simulated_year_looks_like_processed_tables() -> None:
    rng = np.random.default_rng(1)
    tables = simulate_tables(rng, draw_process(rng, CONTRACT), CONTRACT)
    for name, frame in tables.items():
        expected = empty_table(name)
        assert list(frame.columns) == list(expected.columns), name
        for col in expected.columns:
            assert str(frame[col].dtype) == str(expected[col].dtype), (name, col)
    truth = compute_actuals(KpiContext(tables, CONTRACT, CONTRACT.period_end, Facts()))
    assert truth["offline_events"].value > 0
    assert truth["park_events"].value <= truth["offline_events"].value
    assert 0 < truth["appeal_resolution_rate"].value <= 1
    assert truth["livestream_months"].value <= 12


def test_same_seed_same_year() -> None:
    def year(seed: int) -> int:
        rng = np.random.default_rng(seed)
        return len(simulate_tables(rng, draw_process(rng, CONTRACT), CONTRACT)["services"])

    assert year(5) == year(5)


@pytest.mark.slow
def test_interval_coverage_over_simulated_years() -> None:
    """P10–P90 should hold the true year end 70–90 % of the time; a small run, so a looser band."""
    result = run_backtest(years=24, draws=600, seed=3)
    assert [q.quarter for q in result.quarters] == [1, 2, 3]
    for q in result.quarters:
        assert 0.62 <= q.coverage <= 0.96, q
        assert 0.5 <= q.score_coverage <= 1.0, q
    # errors shrink as the year goes by
    errors = [q.median_abs_error for q in result.quarters]
    assert errors[0] > errors[2]
    out = backtest_to_dict(result)
    assert out["coverage_goal"] == list(COVERAGE_GOAL)
    assert set(out["quarters"]) == {"Q1", "Q2", "Q3"}
    assert "区间覆盖率" in format_backtest(result, CONTRACT)


def test_backtest_cli(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backtest", "--years", "2", "--draws", "200", "--seed", "1", "--json"]) == 0
    out = capsys.readouterr().out
    assert '"Q3"' in out and "coverage_p10_p90" in out
