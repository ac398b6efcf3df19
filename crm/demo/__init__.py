"""`flask demo seed`: a deterministic demo data set on all four channels, through the real pipeline."""

from crm.demo.cli import demo_cli

__all__ = ["demo_cli"]
