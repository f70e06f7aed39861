"""The backend's edge: what every answer carries (security headers), the offline API docs, TLS,
and the connection guard that keeps idle, slow, blocked or greedy peers from holding sockets."""
