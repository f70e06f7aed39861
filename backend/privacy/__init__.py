"""Personal data over its life: the upkeep of the field keys and of stored answers
(`upkeep.py`), and a customer's erasure (`erasure.py`, `router.py`)."""
