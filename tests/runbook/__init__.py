"""Tests of runbook/."""
