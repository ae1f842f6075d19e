"""Guided rollback checklists: last known good, interactive steps, verification by the bot, a full trail.

    actions    action ids (a StrEnum) and button values: ids only, parsed strictly
    reverts    configuration and access reverts: what to put back, commands, is it back (pure)
    model      the checklist state and its pure transitions (done, skip, undo, checks, close)
    codec      checklist <-> the JSON document kept in the store
    plan       job + verdict + history -> the steps, tailored by cause (pure)
    az         the exact `az` commands for a human, shell-quoted (pure)
    images     image references: registry, repository, tag, digest (pure)
    snapshot   the job's configuration and recent executions as posted in the thread (names only)
    verify     the bot's own read-only checks: target image, new executions, queue draining
    approvals  who may change steps that need an owner's approval (owners -> user groups, cached)
    state      checklists in the store: versioned records, one open checklist per job, re-check timers
    timeline   who did what, when: mrkdwn for the thread and Markdown for the post-incident review
    render     the checklist as one Block Kit message, rebuilt from stored state every time
    service    the use cases: start, show, clicks, re-checks; state first, then the message
    feature    Bolt listeners, the /jobbot verbs and the re-check timer loop, plugged into `serve`

jobbot stays read-only: the checklist shows the exact commands for a human and checks the results
itself with GETs; it never changes Azure. Everything above `render` is free of Slack and Azure SDKs
(tests/test_checklist_model.py checks the imports).
"""
