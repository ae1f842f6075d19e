"""jobbot: first response for Azure Container Apps event-driven jobs.

Importing the package has no side effects; `bot.cli.main` is the entry point.
"""

__version__ = "0.1.0"
