"""The self-contained HTML report: data (read-only queries), charts (SVG geometry), sections
(cards, tables, findings) and render (the template and the file)."""
from retention.outputs.report.render import render_report

__all__ = ["render_report"]
