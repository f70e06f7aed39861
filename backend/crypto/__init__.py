"""Personal fields encrypted at rest: AES-256-GCM values tagged with their key's id, a keyed
HMAC blind index for the lookups that must still work, and the key ring they come from."""
