"""The review feature of `jobbot serve`: `/jobbot review` posts the review with its buttons and keeps the
report as data; *Full report* posts every finding in the message's thread; *Approve change* records the
approval, with the report's hash, in the audit trail (review.md §3)."""
