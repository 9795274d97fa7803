"""Measurements of Horizon against the labelled data in ../shared (run with `make eval`)."""
