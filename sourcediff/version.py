"""The sourcediff version: one place, read by the package, the cache key and packaging checks."""
VERSION = "0.1.0"
