"""Tests of probe/."""
