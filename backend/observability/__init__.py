"""Running it for real: metrics (`metrics.py`, served by `requests.py`), readiness
(`readiness.py`) and structured logs (`logs.py`, `context.py`). See docs/metrics.md."""
