"""Alert-triggered summaries: Azure Monitor's webhook → one enriched Slack thread per alert.

    schema      the common alert schema, parsed into frozen data
    routing     which job, which channel, which alerts may share a thread            (pure)
    grouping    the rule+job window: join the open thread or open a new one          (pure)
    thread      a thread's state and the Slack work it owes; claim/finish transitions (pure)
    tiers       which escalation tier is due                                          (pure)
    render      the parent message and the notes                                     (pure)
    codec       a thread as the store's JSON document
    storage     versioned thread and group records in the store
    intake      the webhook: refuse, store durably, 202
    inbox       deliveries arriving together stored in one commit
    pressure    background work gives way while the webhook answers
    flapping    an alert that keeps firing and resolving                              (pure)
    service     one delivery: group, deduplicate, route
    work        the Slack work: post, triage, refresh, notes — claimed through leases
    escalation  Acknowledge, and the owners' chain tier by tier
    worker      the background loop over the store's timers
    feature     wiring for `jobbot serve`
"""
