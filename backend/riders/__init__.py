"""Riders and their map: shifts and load, position fixes and what they make of each delivery
(progress, ETAs, geofences), track replay, the delivery zones and streets, and geocoding."""
