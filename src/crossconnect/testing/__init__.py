"""The pytest plugin and its helpers: a crossconnect server for a partner's test suite.

Loaded by pytest through the ``pytest11`` entry point in every run of anyone who installs
crossconnect, so nothing here does anything at import: the modules import only the standard
library (and pytest) at the top, and the server, httpx and the Azure SDK only inside fixtures.
This package talks to the server over HTTPS and through the ``crossconnect`` command, as a
partner's code does; it imports nothing else from crossconnect.
"""
