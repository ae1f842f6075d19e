"""The bot's own telemetry: Prometheus metrics (`GET /metrics`) and OpenTelemetry traces (when configured).

Both are leaves: the core calls a few functions here and never depends on whether anyone collects them.
"""
