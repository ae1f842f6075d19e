"""Test support: a fake Slack Web API (`slack_fake`) and signed Slack requests (`slack_requests`)."""
