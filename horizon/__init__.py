"""Horizon: regulatory horizon scanning for AI governance."""

__version__ = "0.1.0"
