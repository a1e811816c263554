"""The year-end forecast: rate fits, Monte Carlo draws scored like actuals, the action planner, the backtest."""
