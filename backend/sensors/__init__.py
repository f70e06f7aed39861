"""Sensors: temperature and relative humidity readings from order boxes and riders' vehicles."""
