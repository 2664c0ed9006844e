"""Analysis of tunebench studies: tables, statistics, importance, figures and the report.

Reads the records under ``results/<study>`` only (``spec.json`` and ``cells/*.json``);
computing returns pandas frames, rendering writes files.
"""
