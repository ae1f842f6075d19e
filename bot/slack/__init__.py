"""The Slack edge: Bolt app, command parsing, access rules, posting. The only package importing slack_*."""
