"""Sample data: a realistic, messy year of platform exports and the truth about it.

Entry points: :func:`qyzj_analytics.sample.generate.write_sample` (a raw folder, returning a
:class:`qyzj_analytics.sample.truth.SampleTruth`) and
:func:`qyzj_analytics.sample.bulk.write_services_csv` (the cleaning benchmark's big export).
"""
