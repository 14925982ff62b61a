"""The fault lab: its harness (netlab, scenarios, listener) and the tests that use it."""
