"""The test suite: a package, so helper modules import by name (tests.lab.netlab)."""
