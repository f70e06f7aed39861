"""The demo city and (later) the simulator that plays channels, stores and riders."""
