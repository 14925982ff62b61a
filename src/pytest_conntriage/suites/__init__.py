"""The built-in suites, collected whenever --inventory is given."""
