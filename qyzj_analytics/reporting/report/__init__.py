"""``qyzj report``: papermill in warm kernels, one safe HTML page, the KPI workbook, lock and atomic publish."""
