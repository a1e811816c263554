# temporary (split-tables): until the charts split re-exports every plot function here
from qyzj_analytics.reporting.charts.charts import *  # noqa: F403
