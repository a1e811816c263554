"""Calendar arithmetic of the contract period (elapsed share, weeks, months, quarters) and Chinese working days."""
