"""The console's screens: the board, the exception queue, riders, KPIs, an order's detail and
the dialogs that act on orders and alerts."""
