"""The review's evidence pack in Slack: the **Evidence pack** button, uploaded as a zip into the thread."""
