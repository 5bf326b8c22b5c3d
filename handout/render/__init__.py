"""Drawing: the only package that imports ReportLab."""
