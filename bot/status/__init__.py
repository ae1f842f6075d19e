"""The environment board (`jobbot status`, `/jobbot status`): every job of an environment in one message."""
