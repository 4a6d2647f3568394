"""Indicators: declared in ``config/indicators.toml``, measured per unit, district and area."""

from pipeline.indicators.compute import Scores, measure
from pipeline.indicators.definitions import Indicator, load_indicators

__all__ = ["Indicator", "Scores", "load_indicators", "measure"]
