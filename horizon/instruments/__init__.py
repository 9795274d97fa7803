"""Instruments (laws, codes, standards) and their lifecycle: the catalogue in instruments.yaml,
linking items to instruments, and stage changes proposed from items for an analyst to confirm."""
