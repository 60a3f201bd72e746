"""The key-value store: named JSON values in a scope, optionally encrypted, optionally expiring."""
