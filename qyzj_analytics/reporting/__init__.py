"""What the notebooks and the report show: tables, narrative from the contract, styles, charts, the report."""
