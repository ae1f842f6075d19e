"""The one exception tree of jobbot.

    JobbotError
    ├── ConfigError            settings or jobbot.yaml invalid (every problem listed at once)
    ├── InvalidRequest         user input refused before anything is queried (bad job name, bad --since)
    │   └── MissingExtra       an optional extra the command needs is not installed (says what to install)
    ├── JobNotFound            no job of that name; carries close matches
    ├── NotApplicable          a check has nothing to look at for this job (becomes `skipped`)
    └── UpstreamError          an Azure call failed after the SDK's own retries (reason is user-safe)
        └── UpstreamTimeout    an Azure call did not answer within its deadline

Adapters translate SDK exceptions (HttpResponseError, ServiceRequestError …) into UpstreamError at the
boundary, so the core never sees azure.* types.
"""

from __future__ import annotations


class JobbotError(Exception):
    """Base of every error jobbot raises on purpose."""


class ConfigError(JobbotError):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


class InvalidRequest(JobbotError):
    """Input refused with a message fit to show the user as it is."""


class MissingExtra(InvalidRequest):
    """A command needs an optional extra (`jobbot[demo]` …) that is not installed; the message names it."""


class JobNotFound(JobbotError):
    def __init__(self, name: str, suggestions: list[str]) -> None:
        self.name = name
        self.suggestions = suggestions
        hint = f" Did you mean: {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"Job '{name}' was not found.{hint}")


class UpstreamError(JobbotError):
    """An upstream (ARM, Log Analytics, queue) call failed; the message says what and why."""


class UpstreamTimeout(UpstreamError):
    pass


class NotApplicable(JobbotError):
    """A check has nothing to look at for this job (reported as `skipped` with this reason)."""


class ResourceNotFound(NotApplicable):
    """ARM answered 404 for a resource the job depends on: it does not exist (any more). That is evidence
    (a deleted queue, a removed identity), so it is its own type; unhandled it reads like NotApplicable."""

    def __init__(self, resource_id: str) -> None:
        self.resource_id = resource_id
        super().__init__(f"{resource_id} does not exist (Azure Resource Manager answered 404)")
