"""Who may run what, where: defaults open for reading, rules narrow it, group lookups are cached."""

from __future__ import annotations

from bot.access import AccessPolicy


class Members:
    def __init__(self, groups: dict[str, list[str]]) -> None:
        self.groups = groups
        self.lookups = 0

    async def __call__(self, group: str) -> list[str]:
        self.lookups += 1
        return self.groups.get(group, [])


async def test_no_rules_allows_every_channel_and_everyone() -> None:
    policy = AccessPolicy(None, Members({}))
    assert (await policy.decide("triage", "U1", "C1")).allowed


async def test_channel_list_limits_where_commands_run_but_help_works_anywhere() -> None:
    policy = AccessPolicy({"channels": ["C0INC"]}, Members({}))
    refused = await policy.decide("triage", "U1", "C0RANDOM")
    assert not refused.allowed and "not enabled in this channel" in refused.reason
    assert (await policy.decide("triage", "U1", "C0INC")).allowed
    assert (await policy.decide("help", "U1", "C0RANDOM")).allowed


async def test_command_rule_admits_listed_users_and_group_members_only() -> None:
    members = Members({"S0OWN": ["U0LEAD"]})
    policy = AccessPolicy({"commands": {"rollback": {"user_groups": ["S0OWN"], "users": ["U0BOSS"]}}}, members)
    assert (await policy.decide("rollback", "U0LEAD", "C1")).allowed
    assert (await policy.decide("rollback", "U0BOSS", "C1")).allowed
    refused = await policy.decide("rollback", "U0OTHER", "C1")
    assert not refused.allowed and "<!subteam^S0OWN>" in refused.reason
    assert (await policy.decide("triage", "U0OTHER", "C1")).allowed  # reads stay open


async def test_group_membership_is_cached_between_decisions() -> None:
    members = Members({"S0OWN": ["U0LEAD"]})
    policy = AccessPolicy({"commands": {"rollback": {"user_groups": ["S0OWN"]}}}, members)
    for _ in range(5):
        await policy.decide("rollback", "U0OTHER", "C1")
    assert members.lookups == 1
