"""CSBP: turns structured YAML entries into a searchable, offline-capable handbook."""

__version__ = "0.1.0"
