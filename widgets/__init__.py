"""The console's widgets: lanes and lists drawn through the line API, the rider map, filter
bars, tiles, charts and the bars around every screen."""
