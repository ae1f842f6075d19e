"""The alerts feature of `jobbot serve`: the Azure Monitor webhook, the Acknowledge button, and the
background worker that turns stored deliveries into one Slack thread per alert.

Registered like any extension (bot/features.py): `build(services)` returns the feature.

    webhook ─ 202 ─▶ store: delivery timer ─▶ worker ─▶ AlertService.process (group, dedupe, route)
                                  work / recover timers ─▶ ThreadWork.drive (post, triage, notes, refresh)
                                        escalate timer ─▶ Escalations.on_timer (tier by tier)
    Acknowledge button ─▶ Escalations.acknowledge
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.alerts.escalation import Escalations
from bot.alerts.inbox import DeliveryInbox
from bot.alerts.intake import AccessLogRedaction, Webhook
from bot.alerts.pressure import IntakeLoad
from bot.alerts.render import ACK_ACTION
from bot.alerts.schema import InvalidAlert
from bot.alerts.service import AlertService
from bot.alerts.storage import DELIVERY, ESCALATE, RECOVER, WORK, AlertRecords
from bot.alerts.work import ThreadWork
from bot.alerts.worker import POLL_S, TimerWorker
from bot.clock import Clock, FixedClock, SystemClock
from bot.feature_api import Endpoint, Services
from bot.slack.interactivity import from_message, parse_click
from bot.slack.listening import Audited, audited, ephemeral, just_ack
from bot.slack.posting import DEFAULT_INTERVAL_S, PostingQueue
from bot.store import Timer

log = logging.getLogger(__name__)

ROUTE = "alerts.azure_monitor"
DELIVERY_ATTEMPTS = 6  # 5 s, 10 s, 20 s, 40 s, 80 s apart: about 2.5 min of retries
ACK_COMMAND = "ack"  # the access rule an Acknowledge click passes (access.commands.ack in jobbot.yaml)


def scheduler_clock(world: Clock) -> Clock:
    """The clock for timers and leases. They need time that passes: in scenario mode the world's clock
    stands still at the scenario's `now` (so "the last hour" matches the scenario), where a lease would
    never run out and an escalation never fall due, so there they run on the system clock. Everywhere
    else it is the world's clock (the system's in production, a test's own clock in tests)."""
    return SystemClock() if isinstance(world, FixedClock) else world


class AlertsFeature:
    name = "alerts"

    def __init__(self, services: Services, *, scheduler: Clock | None = None, poll_s: float = POLL_S,
                 posting_interval_s: float = DEFAULT_INTERVAL_S) -> None:
        self._services = services
        settings, config, store = services.settings, services.config, services.store
        self.scheduler = scheduler or scheduler_clock(services.clock)
        lease_s = config.alerts.lease_s
        default_channel = settings.alert_channel or config.alert_channel
        records = AlertRecords(store)
        self._records = records
        self.queue = PostingQueue(services.client, interval_s=posting_interval_s)
        self.load = IntakeLoad()
        self.worker = TimerWorker(store, self.scheduler, services.replica_id,
                                  {DELIVERY: self._on_delivery, WORK: self._on_work, RECOVER: self._on_work,
                                   ESCALATE: self._on_escalate},
                                  lease_s=lease_s, poll_s=poll_s, running={DELIVERY: 4, ESCALATE: 4},
                                  # A delivery that fails this often never will (an unstorable payload):
                                  # parked, not retried forever. Thread work keeps retrying (Slack outages).
                                  attempts={DELIVERY: DELIVERY_ATTEMPTS}, give_way=self.load.give_way)
        self.inbox = DeliveryInbox(store, self.scheduler, stored=self.worker.wake)
        self.service = AlertService(store=store, config=config, readers=services.readers, clock=services.clock,
                                    scheduler=self.scheduler, default_channel=default_channel,
                                    audit=services.audit, wake=self.worker.wake)
        self.work = ThreadWork(records=records, queue=self.queue, readers=services.readers, config=config,
                               clock=services.clock, scheduler=self.scheduler, owner=services.replica_id,
                               lease_s=lease_s, fallback_channel=default_channel, audit=services.audit,
                               give_way=self.load.give_way)
        self.escalations = Escalations(store=store, records=records, clock=services.clock,
                                       scheduler=self.scheduler, wake=self.worker.wake)
        self.webhook = Webhook(token=settings.alert_token, accept=self.accept, audit=services.audit, load=self.load)
        self._access_log = AccessLogRedaction(settings.secrets)

    def endpoints(self) -> dict[str, Endpoint]:
        return {ROUTE: self.webhook}

    def readiness(self) -> dict[str, Any]:
        """Detail for /readyz: alert deliveries given up on (each also logged at ERROR)."""
        parked = [{"kind": p.kind, "key": p.key[-60:], "attempts": p.attempts, "at": p.at.isoformat()}
                  for p in self.worker.parked]
        return {"alerts_parked": len(parked), "alerts_parked_recent": parked[-5:]}

    def register(self, bolt: AsyncApp) -> None:
        bolt.action(ACK_ACTION)(ack=just_ack, lazy=[self._on_ack])

    async def start(self) -> None:
        if not self._services.settings.alert_token:
            log.warning("JOBBOT_ALERT_TOKEN is not set: the alert webhook refuses every request")
        logging.getLogger("uvicorn.access").addFilter(self._access_log)
        await self.worker.start()

    @property
    def idle(self) -> bool:
        """The alert work this replica was woken for is done (see `TimerWorker.idle`)."""
        return self.worker.idle

    async def stop(self) -> None:
        await self.inbox.close()
        await self.worker.stop()
        logging.getLogger("uvicorn.access").removeFilter(self._access_log)

    async def accept(self, body: dict[str, Any]) -> str:
        """Store one delivery durably (before the webhook answers; the worker is woken); returns its id."""
        return await self.inbox.put(body)

    # --- timers ----------------------------------------------------------------------------------------

    async def _on_delivery(self, timer: Timer) -> datetime | None:
        try:
            await self.service.process(timer.payload, delivery=timer.key)
        except InvalidAlert as error:  # checked at the webhook; only a stored payload from elsewhere gets here
            log.warning("dropped an unreadable alert delivery: %s", error, extra={"delivery": timer.key})
        return None

    async def _on_work(self, timer: Timer) -> datetime | None:
        """A nudge or the watchdog: do the thread's owed work. What is left is announced by a new nudge
        (work nobody holds) or the watchdog (a lease elsewhere, a retry later) — never by moving a nudge
        later, which could hide work that came in meanwhile."""
        again = await self.work.drive(timer.key)
        if again is not None:
            now = self.scheduler.now()
            if again <= now:
                await self._services.store.timers.schedule(WORK, timer.key, now, {})
                self.worker.wake()
            else:
                await self._services.store.timers.schedule(RECOVER, timer.key, again, {})
        return None

    async def _on_escalate(self, timer: Timer) -> datetime | None:
        await self.escalations.on_timer(timer.key)
        return None  # on_timer set the next tier's timer itself

    # --- the Acknowledge button ------------------------------------------------------------------------

    async def _on_ack(self, body: dict[str, Any], action: dict[str, Any]) -> None:
        click = parse_click(body, action)
        key, channel, user = click.value, click.channel, click.user
        tell = ephemeral(self._services.client, channel, user)
        entry = Audited(user, channel or None, "click:ack-alert", key.rstrip("/").rsplit("/", 1)[-1][:200],
                        sorry=":warning: Sorry, acknowledging failed inside jobbot. It has been logged.")
        async with audited(self._services.audit, entry, tell):
            thread = await self._records.thread(key)
            if thread is None:
                entry.outcome = "not-found"
                await tell("jobbot has no record of this alert any more.")
                return
            entry.target = thread.routing.job
            # A click counts only on the thread's own message, in its own channel, by someone the access
            # rules let act there (`access.commands.ack`, else the channel list): a button value copied into
            # another message, or a forged channel in the payload, acknowledges nothing.
            if not from_message((channel, click.message_ts), thread.channel or thread.routing.channel, thread.ts):
                entry.outcome = "refused"
                await tell("This button does not belong to this message; nothing was done.")
                return
            decision = await self._services.access.decide(ACK_COMMAND, user, channel)
            if not decision.allowed:
                entry.outcome = "refused"
                await tell(f":no_entry: {decision.reason}")
                return
            result = await self.escalations.acknowledge(key, user)
            if result.thread is None:
                entry.outcome = "not-found"
                await tell("jobbot has no record of this alert any more.")
            elif not result.recorded and result.ack is not None:
                entry.outcome = "duplicate"
                await tell(f"Already acknowledged by <@{result.ack.user}>.")
            else:
                entry.outcome = "ok"


def build(services: Services) -> AlertsFeature:
    return AlertsFeature(services)
