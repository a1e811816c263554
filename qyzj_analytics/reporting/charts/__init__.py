"""Charts for the notebooks and the report: one function per chart, each returning a Figure.

Every function takes library results (frames from the :mod:`qyzj_analytics.reporting` tables,
forecast frames) and draws one message with Chinese titles and labels. Figures are built with
:class:`matplotlib.figure.Figure` directly, never through pyplot, so no global figure state leaks
and nothing is shown twice in a notebook; use :func:`display_chart` there and :func:`save_chart`
to export PNG (200 dpi) and SVG. Only aggregates are drawn: no person's name, phone, ID or appeal
text.

Every ``plot_…`` function (and :func:`save_burnup_charts`) takes a keyword ``sample``: pass
``sample=metrics.is_sample`` (true when the raw folder holds the sample marker,
:data:`qyzj_analytics.ingest.discover.SAMPLE_MARKER`) and the chart carries a red 示例数据 mark
at its top right, in PNG and SVG (:func:`.style.mark_sample`); charts of real data carry none.

Modules: :mod:`.style` (figure factory, colours, axis helpers), :mod:`.kpi` (attainment,
burn-ups), :mod:`.forecast` (score, grades, payment), :mod:`.events` (event mix),
:mod:`.render` (PNG/SVG output and notebook display), :mod:`.views` (per-KPI burn-up files cut
from the grid's render), :mod:`.venn` (the equal-circle Venn), :mod:`.figure` (the figure class,
font heights cached), :mod:`.fonts` (the CJK font).
Notebooks use ``from qyzj_analytics.reporting import charts`` and ``charts.plot_…``.
"""

from qyzj_analytics.reporting.charts.events import (
    plot_activities_by_category,
    plot_livestreams,
    plot_online_offline,
    plot_parks_covered,
    plot_tag_overlap,
    plot_tag_upset,
)
from qyzj_analytics.reporting.charts.forecast import (
    plot_grade_probabilities,
    plot_payment_schedule,
    plot_score_distribution,
)
from qyzj_analytics.reporting.charts.kpi import (
    plot_burnup,
    plot_burnup_grid,
    plot_kpi_attainment,
    save_burnup_charts,
)
from qyzj_analytics.reporting.charts.render import display_chart, render_png, save_chart
from qyzj_analytics.reporting.charts.views import display_burnup_grid

__all__ = [
    "display_burnup_grid",
    "display_chart",
    "plot_activities_by_category",
    "plot_burnup",
    "plot_burnup_grid",
    "plot_grade_probabilities",
    "plot_kpi_attainment",
    "plot_livestreams",
    "plot_online_offline",
    "plot_parks_covered",
    "plot_payment_schedule",
    "plot_score_distribution",
    "plot_tag_overlap",
    "plot_tag_upset",
    "render_png",
    "save_burnup_charts",
    "save_chart",
]
