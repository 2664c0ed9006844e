"""Analysis of tunebench studies: tables, statistics, importance, figures and the report.

Reads a study's spec and cell records only, through the record format (``study.records``)
and the study store (``study.store``); computing returns pandas frames, rendering writes
files.
"""
