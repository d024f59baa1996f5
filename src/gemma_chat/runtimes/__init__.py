"""Engine adapters behind one small streaming interface (see base.py)."""
