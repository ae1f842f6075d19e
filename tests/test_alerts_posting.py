"""The per-channel posting queue against the fake Slack Web API: paced, ordered, nothing dropped or doubled."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.client import web_client
from bot.slack.errors import CannotPost, RateLimited
from bot.slack.posting import MAX_PAUSES, PostingQueue
from tests.support.slack_fake import FakeSlack

TOKEN = "xoxb-1111-2222-postingqueue"
INTERVAL = 0.2  # Slack's is 1 s; the pacing logic is the same, the test is quicker


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


def bare_client(slack: FakeSlack) -> AsyncWebClient:
    """A client without retry handlers: every 429 reaches the queue itself."""
    return AsyncWebClient(token=TOKEN, base_url=slack.api_url, retry_handlers=[])


async def test_posts_to_one_channel_leave_in_order_one_interval_apart(slack: FakeSlack) -> None:
    queue = PostingQueue(bare_client(slack), interval_s=INTERVAL)
    await asyncio.gather(*(queue.post("C0ONE", text=f"message {i}") for i in range(5)))
    calls = slack.ok_calls_to("chat.postMessage")
    assert [c.args["text"] for c in calls] == [f"message {i}" for i in range(5)]
    gaps = [b.at - a.at for a, b in itertools.pairwise(calls)]
    assert min(gaps) >= INTERVAL * 0.9


async def test_channels_do_not_wait_for_each_other(slack: FakeSlack) -> None:
    # A long interval makes the check load-proof: waiting on one another would take 7 intervals.
    queue = PostingQueue(bare_client(slack), interval_s=60.0)
    started = asyncio.get_running_loop().time()
    await asyncio.gather(*(queue.post(f"C0CH{i}", text="hello") for i in range(8)))
    assert asyncio.get_running_loop().time() - started < 30.0
    assert len(slack.ok_calls_to("chat.postMessage")) == 8


async def test_a_storm_queues_per_channel_and_every_post_lands_once_in_order(slack: FakeSlack) -> None:
    queue = PostingQueue(bare_client(slack), interval_s=0.05)
    posts = [(f"C0STORM{i % 3}", f"alert {i}") for i in range(45)]

    async def post(channel: str, text: str) -> None:
        await queue.post(channel, text=text)

    waiting = [asyncio.create_task(post(c, t)) for c, t in posts]
    await asyncio.sleep(0.01)
    assert sum(queue.waiting(f"C0STORM{i}") for i in range(3)) > 30, "the storm waits in the queue"
    await asyncio.gather(*waiting)
    sent = [(c.args["channel"], c.args["text"]) for c in slack.ok_calls_to("chat.postMessage")]
    assert sorted(sent) == sorted(posts), "nothing dropped, nothing doubled"
    for i in range(3):
        channel = f"C0STORM{i}"
        assert [t for c, t in sent if c == channel] == [t for c, t in posts if c == channel]


async def test_a_rate_limit_is_waited_out_for_retry_after_and_the_post_lands_once(slack: FakeSlack) -> None:
    queue = PostingQueue(bare_client(slack), interval_s=INTERVAL)
    slack.fail_next("chat.postMessage", status=429, retry_after=1, times=2)
    started = asyncio.get_running_loop().time()
    response = await queue.post("C0ONE", text="after the storm")
    assert response["ok"] and asyncio.get_running_loop().time() - started >= 1.8
    assert len(slack.ok_calls_to("chat.postMessage")) == 1
    assert queue.counters.rate_limited == 2


async def test_with_the_bots_client_retries_and_the_queue_nothing_is_lost(slack: FakeSlack) -> None:
    queue = PostingQueue(web_client(TOKEN, slack.api_url), interval_s=INTERVAL)
    slack.fail_next("chat.postMessage", status=429, retry_after=0, times=7)  # more than the client retries
    await queue.post("C0ONE", text="eventually")
    assert [c.status for c in slack.calls_to("chat.postMessage")] == [429] * 7 + [200]
    assert len(slack.ok_calls_to("chat.postMessage")) == 1


async def test_other_slack_errors_reach_the_caller_and_the_line_moves_on(slack: FakeSlack) -> None:
    slack.add_channel("G0SECRET", "secret", is_private=True, is_member=False)
    queue = PostingQueue(bare_client(slack), interval_s=0.01)
    results = await asyncio.gather(queue.post("G0SECRET", text="x"), queue.post("G0SECRET", text="y"),
                                   return_exceptions=True)
    assert all(isinstance(r, SlackApiError) and r.response["error"] == "channel_not_found" for r in results)
    assert all(isinstance(r, CannotPost) for r in results), "translated: the bot may not write there"
    assert queue.waiting("G0SECRET") == 0


async def test_updates_wait_out_a_rate_limit_too(slack: FakeSlack) -> None:
    client = bare_client(slack)
    queue = PostingQueue(client, interval_s=0.01)
    posted = await queue.post("C0ONE", text="v1")
    slack.fail_next("chat.update", status=429, retry_after=1, times=1)
    await queue.update("C0ONE", posted["ts"], text="v2")
    assert slack.message("C0ONE", posted["ts"])["text"] == "v2"
    assert [c.status for c in slack.calls_to("chat.update")] == [429, 200]


async def test_a_429_is_retried_by_the_sdk_handler_and_a_persistent_one_gives_up_after_the_bound(
        slack: FakeSlack) -> None:
    # slack_sdk's own handler retries once per round; the queue pauses the channel MAX_PAUSES times.
    client = AsyncWebClient(token=TOKEN, base_url=slack.api_url,
                            retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)])
    queue = PostingQueue(client, interval_s=0.01)
    slack.fail_next("chat.postMessage", status=429, retry_after=0, times=1)
    assert (await queue.post("C0ONE", text="retried"))["ok"]
    assert [c.status for c in slack.calls_to("chat.postMessage")] == [429, 200]

    refusals = 2 * (MAX_PAUSES + 1)
    slack.fail_next("chat.postMessage", status=429, retry_after=0, times=refusals + 5)
    with pytest.raises(RateLimited) as limited:
        await queue.post("C0ONE", text="never lands")
    assert limited.value.code == "ratelimited" and limited.value.retry_after == 0
    assert [c.status for c in slack.calls_to("chat.postMessage")][2:] == [429] * refusals, "bounded, then given up"
    assert [c.args["text"] for c in slack.ok_calls_to("chat.postMessage")] == ["retried"]
    assert queue.waiting("C0ONE") == 0 and queue.counters.rate_limited == MAX_PAUSES + 1
