"""The built-in connectivity suites: one test module per check kind, `test_<kind>.py`.

Each module's `test_<kind>(<kind>_check, conntriage)` says what a check of its kind
asserts; `pytest --inventory prod.yml` runs it once per check of that kind (see
pytest_conntriage/nodes.py). Installed as `pytest_conntriage.suites` (pyproject's
package-dir maps this directory there). A new kind adds its module here.
"""
