"""Tests of the demo: its DNS server, listeners and judged run."""
