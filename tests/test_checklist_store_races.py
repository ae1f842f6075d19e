"""The checklist store keeps one open checklist per job however starts interleave, and a change to a checklist
deleted meanwhile is refused with a sentence a person can read."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from bot.checklists.model import Refused, StepKind, mark_done
from bot.checklists.state import ChecklistState
from bot.store import Store
from tests.fakes import NOW
from tests.support.db import sqlite_url
from tests.test_checklist_model import checklist


@pytest.fixture()
def state(tmp_path: Path) -> Iterator[ChecklistState]:
    with Store.open(sqlite_url(tmp_path / "j.db")) as store:
        yield ChecklistState(store)


async def test_a_click_on_a_checklist_deleted_meanwhile_is_refused_in_words(state: ChecklistState) -> None:
    first = checklist()
    await state.create(first)
    await state.delete(first.id)
    with pytest.raises(Refused, match=r"^This checklist no longer exists in jobbot's store\.$"):
        await state.update(first.id, lambda c: mark_done(c, StepKind.LEAD, "U0ONCALL", NOW, approver=True))
    assert await state.load(first.id) is None


async def test_a_second_start_for_the_same_job_gets_the_first_ones_id(state: ChecklistState) -> None:
    first, second = checklist(), replace(checklist(), id="e" * 32)
    for each in (first, second):
        await state.create(each)
    assert await state.claim_open(first) == first.id
    assert await state.claim_open(second) == first.id, "one open checklist per job"
    opened = await state.open_for(first.job)
    assert opened is not None and opened.id == first.id


async def test_a_closed_checklists_claim_is_taken_over_by_the_next_start(state: ChecklistState) -> None:
    first, second = checklist(), replace(checklist(), id="e" * 32)
    await state.create(first)
    assert await state.claim_open(first) == first.id
    await state.update(first.id, lambda c: replace(c, closed_at=NOW))  # closed without releasing (a crash)
    await state.create(second)
    assert await state.claim_open(second) == second.id
    opened = await state.open_for(first.job)
    assert opened is not None and opened.id == second.id


async def test_releasing_someone_elses_claim_leaves_it(state: ChecklistState) -> None:
    first, second = checklist(), replace(checklist(), id="e" * 32)
    await state.create(first)
    await state.claim_open(first)
    await state.release_open(second)  # a start that lost the race cleans up after itself
    opened = await state.open_for(first.job)
    assert opened is not None and opened.id == first.id
    await state.release_open(first)
    assert await state.open_for(first.job) is None


async def test_no_rechecks_are_scheduled_before_the_rollback_is_applied(state: ChecklistState) -> None:
    not_applied = checklist()
    assert not_applied.applied_at is None
    await state.schedule_rechecks(not_applied, (5, 15, 30))
    store = state._store
    assert await store.timers.due(NOW.replace(year=2100), "probe") == []
