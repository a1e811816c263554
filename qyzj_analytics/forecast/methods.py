"""How each KPI of the contract is forecast: the KPI ids the simulators know, and their methods.

The contract YAML decides which ids exist; these are the ids whose data :mod:`kpi` computes and
the forecast knows how to simulate. Any other KPI is held at its current value.
"""

from __future__ import annotations

# How each KPI id of kpi.py is simulated (the contract YAML decides which ids exist).
SERVICES_KPI = "enterprises_served"
OFFLINE_KPI = "offline_events"
OFFLINE_TAG_KPIS = {
    "alliance_events": "alliance",
    "park_events": "park",
    "xiaowei_nihao_events": "xiaowei_nihao",
}
POLICY_KPI, POLICY_TAG = "policy_sessions", "policy"
LIVESTREAM_KPI = "livestream_months"
COURSES_KPI = "mingshi_courses"
APPEALS_KPI = "appeal_resolution_rate"
COVERAGE_KPI = "info_weekly_coverage"
SIMULATED_KPIS = {
    SERVICES_KPI,
    OFFLINE_KPI,
    *OFFLINE_TAG_KPIS,
    POLICY_KPI,
    LIVESTREAM_KPI,
    COURSES_KPI,
    APPEALS_KPI,
    COVERAGE_KPI,
}


def method_of(kpi_id: str) -> str:
    """How KPI ``kpi_id`` is forecast (the ``method`` of ``qyzj forecast --json``).

    >>> method_of(LIVESTREAM_KPI), method_of("anything_else")
    ('monthly_threshold', 'held')
    """
    if kpi_id == LIVESTREAM_KPI:
        return "monthly_threshold"
    if kpi_id == APPEALS_KPI:
        return "appeal_closure"
    if kpi_id == COVERAGE_KPI:
        return "weekly_coverage"
    return "rate_per_workday" if kpi_id in SIMULATED_KPIS else "held"
