"""devplan: an education office's development-plan records, indicators and summaries."""

__version__ = "0.1.0"
