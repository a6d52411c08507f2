"""Loopback test servers that speak real wire formats (no mocks of the SDKs)."""
