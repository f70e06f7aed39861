"""SSH keys for `freshline ssh-serve`: admins register them; the gateway exchanges them."""
