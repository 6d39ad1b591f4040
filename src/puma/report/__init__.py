"""The human report: one self-contained HTML file (inline CSS, plots as base64 PNG, no scripts).

Public: `render_report(document, speed_samples, title)`; reads a metrics-1.0 document.
"""

from puma.report.html import render_report

__all__ = ["render_report"]
