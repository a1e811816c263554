"""qyzj-analytics: 乐清市企业之家平台运营分析.

raw exports → :mod:`io` → :mod:`clean` → :mod:`kpi` → :mod:`score` / :mod:`assessment`
→ forecast → charts → report. Importing the package imports nothing heavy.
"""

__version__ = "0.1.0"
