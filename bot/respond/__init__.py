"""Respond: a TriageReport -> JSON, terminal text (and, with the Slack work, Block Kit)."""
