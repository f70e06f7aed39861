"""The demo city and the simulator that plays its channels, stores and riders against the
backend's public API, as a client like any other."""
