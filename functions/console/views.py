"""What the console's pages show, gathered from the capabilities' public functions and shaped
for the templates (charts included). Every read is by key: a Query per store, per store's
staff, per area; never a scan."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from functions.bookings import areas
from functions.bookings.slots import list_slots
from functions.console import charts
from functions.core import clock
from functions.core.errors import NotFound
from functions.coupons import campaigns as coupon_campaigns
from functions.inbox import domain as inbox
from functions.notifications.kinds import KINDS
from functions.stores import domain as stores
from functions.stores import qrcodes, stats

FUNNEL = (("scans", "扫码"), ("new_followers", "新关注"), ("bookings", "预约"), ("redemptions", "核销"))
LINES = (*FUNNEL, ("unsubscribes", "取消关注"))
STAFF_KEYS = [("new_followers", "新关注"), ("bookings", "带来的预约")]
SLOT_DAYS = 14
OUTCOMES = ("sent", "delivered", "retrying", "deferred", "skipped", "failed")


def when(at: str) -> str:
    """A stored UTC time as the business's local time, as people read it."""
    return clock.parse_iso(at).astimezone(clock.business_tz()).strftime("%Y-%m-%d %H:%M:%S")


def _sum(days: list[dict[str, Any]]) -> dict[str, int]:
    return {key: sum(int(day[key]) for day in days) for key, _ in LINES}


def _charts(title: str, days: list[dict[str, Any]]) -> dict[str, Any]:
    totals = _sum(days)
    return {
        "funnel": charts.funnel(f"{title} · 转化漏斗", [(k, label, totals[k]) for k, label in FUNNEL]),
        "lines": charts.lines(
            f"{title} · 每日趋势",
            [d["date"] for d in days],
            [(k, label, [int(d[k]) for d in days]) for k, label in LINES],
        ),
        "totals": totals,
        "days": days,
    }


def _staff_rows(store: stores.Store, start: date, end: date) -> list[dict[str, Any]]:
    names = {s.staff_id: s.name for s in stores.staff_of(store.store_id)}
    totals = stats.staff_totals(store.store_id, start, end)
    rows = [
        {
            "store_id": store.store_id,
            "store_name": store.name,
            "staff_id": staff_id,
            "name": names.get(staff_id) or staff_id,
            **{k: counts.get(k, 0) for k in stats.STAFF_COUNTERS},
        }
        for staff_id, counts in totals.items()
    ]
    rows += [
        {"store_id": store.store_id, "store_name": store.name, "staff_id": staff_id, "name": name}
        | dict.fromkeys(stats.STAFF_COUNTERS, 0)
        for staff_id, name in names.items()
        if staff_id not in totals
    ]
    return rows


def _leaderboard(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: (-r["new_followers"], -r["bookings"], r["name"]))


def overview(start: date, end: date) -> dict[str, Any]:
    """Every store's charts, the brand's total and the staff leaderboard."""
    every = stores.list_stores()
    per_store, staff = [], []
    total_days = [{"date": d["date"], **dict.fromkeys((k for k, _ in LINES), 0)} for d in _empty(start, end)]
    for store in every:
        days = stats.daily_stats(store.store_id, start, end)
        for mine, total in zip(days, total_days, strict=True):
            for key, _ in LINES:
                total[key] += int(mine[key])
        per_store.append({"store": store, **_charts(store.name, days)})
        staff += _staff_rows(store, start, end)
    board = _leaderboard(staff)[:20]
    return {
        "service": service(every, start, end),
        "start": start.isoformat(),
        "end": end.isoformat(),
        "total": _charts("全部门店", total_days),
        "stores": per_store,
        "leaderboard": board,
        "leaderboard_chart": charts.bars(
            "员工排行 · 新关注与带来的预约",
            [(f"{r['name']}（{r['store_name']}）", r) for r in board[:10]],
            STAFF_KEYS,
        ),
    }


def service(every: list[stores.Store], start: date, end: date) -> list[dict[str, Any]]:
    """Each store's inbox service (and HQ's): first responses, their median time, escalations."""
    rows = [(s.store_id, s.name) for s in every] + [(inbox.HQ, "总部")]
    found = [(name, inbox.service_figures(store_id, start, end)) for store_id, name in rows]
    return [{"name": name, "figures": f, "median": _minutes(f.median_first_response_s)} for name, f in found]


def _minutes(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    return f"{seconds / 60:.1f} 分钟" if seconds < 5400 else f"{seconds / 3600:.1f} 小时"


def _empty(start: date, end: date) -> list[dict[str, str]]:
    return [{"date": (start + timedelta(days=n)).isoformat()} for n in range((end - start).days + 1)]


def store(store_id: str, start: date, end: date) -> dict[str, Any]:
    """One store's charts, staff and QR codes."""
    found = stores.get_store(store_id)
    if found is None:
        raise NotFound(f"store {store_id} does not exist", code="store_not_found")
    days = stats.daily_stats(store_id, start, end)
    staff = _leaderboard(_staff_rows(found, start, end))
    names = {row["staff_id"]: row["name"] for row in staff}
    codes = [
        {"code": code, "staff_name": names.get(code.staff_id or "", code.staff_id or "")}
        for code in stores.qrcodes_of(store_id)
    ]
    return {
        "store": found,
        "start": start.isoformat(),
        "end": end.isoformat(),
        **_charts(found.name, days),
        "staff": staff,
        "staff_chart": charts.bars(f"{found.name} · 员工", [(r["name"], r) for r in staff[:10]], STAFF_KEYS),
        "qrcodes": codes,
    }


def card(store_id: str, scene: str) -> dict[str, Any] | None:
    """A QR code's counter card: the picture, the store's and the staff member's names."""
    code = stores.get_qrcode(scene)
    if code is None or code.store_id != store_id or not code.ticket:
        return None
    found = stores.get_store(store_id)
    staff_name = ""
    if code.staff_id:
        staff_name = {s.staff_id: s.name for s in stores.staff_of(store_id)}.get(code.staff_id, code.staff_id)
    return {
        "store": found,
        "code": code,
        "staff_name": staff_name,
        "image_url": qrcodes.image_url(code.ticket),
    }


def slots(area: str | None, start: date) -> dict[str, Any]:
    """An area's windows for SLOT_DAYS days from `start`, as a calendar: a row per window, a
    column per day."""
    end = start + timedelta(days=SLOT_DAYS - 1)
    choices = areas.with_slots(start - timedelta(days=31), end + timedelta(days=62))
    chosen = area or (choices[0].area if choices else None)
    found = list_slots(chosen, start, end) if chosen else []
    days = [(start + timedelta(days=n)).isoformat() for n in range(SLOT_DAYS)]
    windows = sorted({s.window for s in found})
    grid = {(s.date, s.window): s for s in found}
    return {
        "areas": choices,
        "area": chosen,
        "area_name": areas.name_of(chosen) if chosen else "",
        "days": days,
        "windows": windows,
        "grid": grid,
        "start": start.isoformat(),
        "previous": (start - timedelta(days=SLOT_DAYS)).isoformat(),
        "next": (end + timedelta(days=1)).isoformat(),
    }


def campaigns() -> list[dict[str, Any]]:
    found = []
    for campaign in coupon_campaigns.list_campaigns():
        found.append(
            {"campaign": campaign, "view": campaign.to_view(), **coupon_campaigns.campaign_counts(campaign)}
        )
    return found


def outcome_table(counts: dict[tuple[str, str], int]) -> dict[str, Any]:
    """Rows per kind, columns per outcome, with totals."""
    kinds = sorted({kind for kind, _ in counts} | (set(KINDS) if counts else set()))
    rows = [(kind, [counts.get((kind, o), 0) for o in OUTCOMES]) for kind in kinds]
    rows = [(kind, values) for kind, values in rows if any(values)]
    totals = [sum(values[i] for _, values in rows) for i in range(len(OUTCOMES))]
    return {"outcomes": OUTCOMES, "rows": rows, "totals": totals}
