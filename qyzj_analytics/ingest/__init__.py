"""Raw exports → processed tables: discover files, find headers, read csv/xlsx, parse cells, clean, dedupe, store."""
