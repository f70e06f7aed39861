"""Cold-chain sensors: temperature readings from order boxes and riders' vehicles."""
