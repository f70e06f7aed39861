"""Riders: shifts, capacity, and their reported positions."""
