"""Labeled feedback: decided items with their verdicts, as pages (API) and streamed downloads.

selectors.py decides who sees which items and reads them in chunks; export.py turns chunks into
JSONL, CSV and training shapes and audits each export; api.py and views.py are the interfaces.
"""
