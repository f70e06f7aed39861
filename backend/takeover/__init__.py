"""Automatic handover: a rider's orders proposed to nearby riders at once after an accident or
a silence, carried out by the system if nobody decides in time, undone with one key
(docs/auto-handover.md)."""
