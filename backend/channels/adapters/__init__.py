"""One adapter per sales channel, found by `registry.py`: each module defines `ADAPTER`."""
