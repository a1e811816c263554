"""The bureau's Word report: ``reports/<quarter>/<quarter>_运营情况报告.docx`` in GB/T 9704 layout.

The operator's editable draft to the bureau (Word and WPS): title, the grade to date, the KPI
table, the key work with its charts, the problems and next quarter's plan. Its numbers are the
report's :class:`~qyzj_analytics.reporting.bundle.Metrics` (the ones the HTML shows); internal
matter (payment, forecast probabilities, data quality) stays in the HTML.

Modules: :mod:`.layout` (page, styles, fonts, page numbers), :mod:`.content` (the text, from the
metrics), :mod:`.document` (assembly), :mod:`.steps` (the planner's additions as sentences).
"""
