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
import time
import uuid
from datetime import datetime
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.alerts.escalation import Escalations
from bot.alerts.intake import AccessLogRedaction, Webhook
from bot.alerts.render import ACK_ACTION
from bot.alerts.schema import InvalidAlert
from bot.alerts.service import AlertService
from bot.alerts.storage import DELIVERY, ESCALATE, RECOVER, WORK, AlertRecords
from bot.alerts.work import ThreadWork
from bot.alerts.worker import POLL_S, TimerWorker
from bot.clock import Clock, FixedClock, SystemClock
from bot.feature_api import Endpoint, Services
from bot.slack.posting import DEFAULT_INTERVAL_S, PostingQueue
from bot.store import Timer

log = logging.getLogger(__name__)

ROUTE = "alerts.azure_monitor"


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
        self.queue = PostingQueue(services.client, interval_s=posting_interval_s)
        self.worker = TimerWorker(store, self.scheduler, services.replica_id,
                                  {DELIVERY: self._on_delivery, WORK: self._on_work, RECOVER: self._on_work,
                                   ESCALATE: self._on_escalate},
                                  lease_s=lease_s, poll_s=poll_s, running={DELIVERY: 4, ESCALATE: 4})
        self.service = AlertService(store=store, config=config, readers=services.readers, clock=services.clock,
                                    scheduler=self.scheduler, default_channel=default_channel,
                                    audit=services.audit, wake=self.worker.wake)
        self.work = ThreadWork(records=records, queue=self.queue, readers=services.readers, config=config,
                               clock=services.clock, scheduler=self.scheduler, owner=services.replica_id,
                               lease_s=lease_s, fallback_channel=default_channel, audit=services.audit)
        self.escalations = Escalations(store=store, records=records, clock=services.clock,
                                       scheduler=self.scheduler, wake=self.worker.wake)
        self.webhook = Webhook(token=settings.alert_token, accept=self.accept, audit=services.audit)
        self._access_log = AccessLogRedaction(settings.secrets)

    def endpoints(self) -> dict[str, Endpoint]:
        return {ROUTE: self.webhook}

    def register(self, bolt: AsyncApp) -> None:
        bolt.action(ACK_ACTION)(self._on_ack)

    async def start(self) -> None:
        if not self._services.settings.alert_token:
            log.warning("JOBBOT_ALERT_TOKEN is not set: the alert webhook refuses every request")
        logging.getLogger("uvicorn.access").addFilter(self._access_log)
        await self.worker.start()

    async def stop(self) -> None:
        await self.worker.stop()
        logging.getLogger("uvicorn.access").removeFilter(self._access_log)

    async def accept(self, body: dict[str, Any]) -> str:
        """Store one delivery durably (before the webhook answers) and wake the worker; returns its id."""
        delivery = uuid.uuid4().hex
        await self._services.store.timers.schedule(DELIVERY, delivery, self.scheduler.now(), {"body": body})
        self.worker.wake()
        return delivery

    # --- timers ----------------------------------------------------------------------------------------

    async def _on_delivery(self, timer: Timer) -> datetime | None:
        try:
            await self.service.process(timer.payload)
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

    async def _on_ack(self, ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        started = time.monotonic()
        user = str((body.get("user") or {}).get("id") or "")
        channel = str((body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id") or "")
        key = str(action.get("value") or "")
        outcome, target = "error", None
        try:
            result = await self.escalations.acknowledge(key, user)
            if result.thread is None:
                outcome = "not-found"
                await self._tell(channel, user, "jobbot has no record of this alert any more.")
            elif not result.recorded and result.ack is not None:
                outcome = "duplicate"
                await self._tell(channel, user, f"Already acknowledged by <@{result.ack.user}>.")
            else:
                outcome = "ok"
            target = result.thread.routing.job if result.thread else None
        except Exception:  # one handler for the click: log it, tell the user plainly
            log.exception("acknowledging an alert failed", extra={"alert": key})
            await self._tell(channel, user, ":warning: Sorry, acknowledging failed inside jobbot. It has been logged.")
        finally:
            await self._services.audit(actor=user, channel=channel or None, action="click:ack-alert", target=target,
                                       detail=key.rstrip("/").rsplit("/", 1)[-1][:200], outcome=outcome,
                                       duration_ms=int((time.monotonic() - started) * 1000))

    async def _tell(self, channel: str, user: str, text: str) -> None:
        try:
            await self._services.client.chat_postEphemeral(channel=channel, user=user, text=text)
        except Exception:
            log.warning("could not tell the user about their click", exc_info=True)


def build(services: Services) -> AlertsFeature:
    return AlertsFeature(services)
