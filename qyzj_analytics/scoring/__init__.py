"""Processed tables → KPI actuals, scoring rules, grade, bonus, payment and the assessment of a date."""
