"""Cells for CSV and Excel exports that a spreadsheet will not run as formulas: the one helper
is xinan/core/lib/spreadsheet.py (also its CSV writer and streamed download)."""

from xinan.core.lib.spreadsheet import FORMULA_STARTS, safe_cell, safe_row

__all__ = ["FORMULA_STARTS", "safe_cell", "safe_row"]
