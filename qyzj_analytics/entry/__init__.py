"""Data entry at the source: templates for the ledgers (`qyzj template`) and the file checker (`qyzj check`)."""
