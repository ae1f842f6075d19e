"""Adapters to the Azure SDKs: the only package that imports `azure.*` (besides the emulator)."""
