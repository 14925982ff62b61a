"""One module per check kind, behind one protocol (protocol.py); registry.py lists them."""
