"""What the sites show: free seats per slot (one site, or a department over days), the day's
roster, the week, and the occupancy and no-show report. Reads only."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import DateTime, func, select, type_coerce

from core.clock import PARIS, local_day
from core.extensions import db
from core.models import Trainee
from sites import rules
from sites.models import Booking, Site
from sites.services import closures_of, holidays_between
from sites.signals import ask, signed_in


@dataclass
class Slot:
    """One opening range of a day with its seats: `starts`, `ends` are Paris "HH:MM"."""

    day: date
    starts: str
    ends: str
    seats: int
    booked: int
    waitlisted: int

    @property
    def free(self) -> int:
        return max(self.seats - self.booked, 0)

    @property
    def starts_at(self) -> datetime:
        return rules.paris_at(self.day, self.starts)

    @property
    def ends_at(self) -> datetime:
        return rules.paris_at(self.day, self.ends)


@dataclass
class DayAvailability:
    site: Site
    day: date
    closed_reason: str | None
    slots: list[Slot] = field(default_factory=list)

    @property
    def free(self) -> int:
        return max((s.free for s in self.slots), default=0)


def _bookings(
    site_ids: list[str], first: date, last: date, statuses: tuple[str, ...]
) -> list[Booking]:
    start = datetime.combine(first, datetime.min.time(), PARIS)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), PARIS)
    return list(
        db.session.scalars(
            select(Booking)
            .where(
                Booking.site_id.in_(site_ids),
                Booking.starts_at >= start,
                Booking.starts_at < end,
                Booking.status.in_(statuses),
            )
            .order_by(Booking.starts_at, Booking.id)
        )
    )


Minutes = tuple[int, int, int]  # Paris minutes of the day: start, end, how many bookings


def availability(sites: list[Site], first: date, days: int) -> list[list[DayAvailability]]:
    """Per site, per day from `first`: closed (why) or its slots with free seats. Three
    queries whatever the number of sites and days; bookings of one span are counted in SQL
    (GROUP BY), so that a busy week reads a few hundred rows, not thousands; the seats are
    counted on Paris minutes of the day (integers), not datetimes."""
    last = first + timedelta(days=days - 1)
    ids = [s.id for s in sites]
    taken: dict[tuple[str, date], list[Minutes]] = defaultdict(list)
    waiting: dict[tuple[str, date], list[Minutes]] = defaultdict(list)
    start = datetime.combine(first, datetime.min.time(), PARIS)
    # Naive UTC as stored (no per-row conversion): a week holds a few dozen distinct times,
    # each turned into its Paris day and minute once.
    starts = type_coerce(Booking.starts_at, DateTime())
    ends = type_coerce(Booking.ends_at, DateTime())
    rows = db.session.execute(
        select(Booking.site_id, starts, ends, Booking.status, func.count())
        .where(
            Booking.site_id.in_(ids),
            Booking.starts_at >= start,
            Booking.starts_at < start + timedelta(days=days + 1),  # + 1: a DST change
            Booking.status.in_(("confirmed", "waitlisted")),
        )
        .group_by(Booking.site_id, Booking.starts_at, Booking.ends_at, Booking.status)
    )
    paris: dict[tuple[datetime, bool], tuple[date, int]] = {}

    def local(naive: datetime, end: bool = False) -> tuple[date, int]:
        found = paris.get((naive, end))
        if found is None:
            at = naive.replace(tzinfo=UTC).astimezone(PARIS)
            found = paris[(naive, end)] = (at.date(), rules.minute_of_day(at, end=end))
        return found

    for site_id, starts_at, ends_at, status, count in rows:
        day, start_minute = local(starts_at)
        span = (start_minute, local(ends_at, end=True)[1], count)
        (taken if status == "confirmed" else waiting)[(site_id, day)].append(span)
    closures, holidays = closures_of(ids, first, last), holidays_between(first, last)
    out = []
    for site in sites:
        hours = rules.normalize_hours(site.opening_hours)
        row = []
        for offset in range(days):
            day = first + timedelta(days=offset)
            key = (site.id, day)
            row.append(
                _day(site, hours, day, closures[site.id], holidays, taken[key], waiting[key])
            )
        out.append(row)
    return out


def _day(
    site: Site,
    hours: rules.Hours,
    day: date,
    closures: dict[date, str],
    holidays: dict[date, str],
    taken: list[Minutes],
    waiting: list[Minutes],
) -> DayAvailability:
    ranges = hours.get(rules.DAY_KEYS[day.weekday()], [])
    reason = (
        closures.get(day)
        or holidays.get(day)
        or (None if ranges else "fermé ce jour de la semaine")
    )
    if reason:
        return DayAvailability(site, day, reason)
    slots = []
    for a, b in ranges:
        low, high = rules.hhmm_minutes(a), rules.hhmm_minutes(b)
        booked = rules.peak_minutes(taken, low, high)
        queued = sum(n for s, e, n in waiting if s < high and low < e)
        slots.append(Slot(day, a, b, site.seats, booked, queued))
    return DayAvailability(site, day, None, slots)


@dataclass
class Candidate:
    """A site for a span: open or not, and its free seats for the whole span."""

    site: Site
    closed_reason: str | None
    free: int


def sites_for_span(department: str, span: rules.Span) -> list[Candidate]:
    """The department's sites for a span (a session): the open ones with free seats first."""
    sites = list(
        db.session.scalars(
            select(Site).where(Site.department == department).order_by(Site.city, Site.name)
        )
    )
    day = local_day(span.starts_at)
    ids = [s.id for s in sites]
    closures, holidays = closures_of(ids, day, day), holidays_between(day, day)
    taken: dict[str, list[rules.Span]] = defaultdict(list)
    for b in _bookings(ids, day, day, ("confirmed",)):
        taken[b.site_id].append(b.span)
    out = []
    for site in sites:
        reason = rules.closed_reason(site.opening_hours, closures[site.id], holidays, span)
        free = 0 if reason else rules.free_seats(site.seats, taken[site.id], span)
        out.append(Candidate(site, reason, free))
    out.sort(key=lambda c: (c.closed_reason is not None, c.free == 0))
    return out


@dataclass
class RosterLine:
    booking: Booking
    trainee_name: str
    signed: bool | None = None  # signed in the booked session (None: a free slot, no session)


def roster_signed(site: Site, first: date, last: date) -> list[RosterLine]:
    """The roster, each booking for a session saying whether its trainee signed in to it (by
    the kiosk, a QR code, a personal code or a correction), as the staff see it on the day."""
    lines = roster(site, first, last)
    pairs = {
        (line.booking.session_id, line.booking.trainee_id)
        for line in lines
        if line.booking.session_id
    }
    signed = ask(signed_in, pairs=pairs) if pairs else set()
    for line in lines:
        if line.booking.session_id:
            line.signed = (line.booking.session_id, line.booking.trainee_id) in signed
    return lines


def roster(site: Site, first: date, last: date) -> list[RosterLine]:
    """The site's confirmed and waitlisted bookings between two days, with trainee names."""
    bookings = _bookings([site.id], first, last, ("confirmed", "waitlisted"))
    names = dict(
        db.session.execute(
            select(Trainee.id, Trainee.last_name + " " + Trainee.first_name).where(
                Trainee.id.in_({b.trainee_id for b in bookings})
            )
        ).all()
    )
    return [RosterLine(b, names.get(b.trainee_id, "")) for b in bookings]


@dataclass
class DayOccupancy:
    day: date
    seat_hours: float  # seats × opening hours
    booked_hours: float
    bookings: int
    no_shows: int

    @property
    def rate(self) -> float:
        return self.booked_hours / self.seat_hours if self.seat_hours else 0.0


def occupancy(
    site: Site, first: date, last: date, now: datetime
) -> tuple[list[DayOccupancy], list[RosterLine]]:
    """Per day: seat-hours open, hours booked, bookings and no-shows (a confirmed booking
    over, with neither a sign-in in its session nor an arrival noted); and the no-shows."""
    lines = [line for line in roster(site, first, last) if line.booking.status == "confirmed"]
    pairs = [
        (line.booking.session_id, line.booking.trainee_id)
        for line in lines
        if line.booking.session_id
    ]
    signed = ask(signed_in, pairs=pairs) if pairs else set()
    no_shows = [
        line
        for line in lines
        if line.booking.ends_at <= now
        and line.booking.checked_in_at is None
        and (line.booking.session_id, line.booking.trainee_id) not in signed
    ]
    closures, holidays = closures_of([site.id], first, last)[site.id], holidays_between(first, last)
    days = []
    day = first
    while day <= last:
        open_spans = (
            []
            if day in closures or day in holidays
            else rules.opening_spans(site.opening_hours, day)
        )
        hours = sum((o.ends_at - o.starts_at).total_seconds() for o in open_spans) / 3600
        today = [line.booking for line in lines if local_day(line.booking.starts_at) == day]
        days.append(
            DayOccupancy(
                day,
                hours * site.seats,
                sum((b.ends_at - b.starts_at).total_seconds() for b in today) / 3600,
                len(today),
                sum(1 for line in no_shows if local_day(line.booking.starts_at) == day),
            )
        )
        day += timedelta(days=1)
    return days, no_shows


def occupancy_chart(days: list[DayOccupancy], width: int = 640, height: int = 200) -> str:
    """An SVG bar chart of the occupancy rate per day (no-shows in a second colour), drawn on
    the server: no script, no CDN. Each bar carries its figures as a title for screen readers."""
    n = max(len(days), 1)
    bar = width / n
    parts = [
        f'<svg viewBox="0 0 {width} {height + 20}" role="img" aria-labelledby="chart-title" '
        'class="chart" xmlns="http://www.w3.org/2000/svg">',
        '<title id="chart-title">Taux d\'occupation par jour</title>',
        f'<line x1="0" y1="{height}" x2="{width}" y2="{height}" stroke="#555"/>',
    ]
    for i, d in enumerate(days):
        h = round(min(d.rate, 1.0) * (height - 10))
        gone = round((d.no_shows / d.bookings) * h) if d.bookings else 0
        x = round(i * bar + bar * 0.15, 1)
        w = round(bar * 0.7, 1)
        label = f"{d.day:%d/%m} : {round(d.rate * 100)} % occupé, {d.no_shows} absence(s)"
        parts.append(f"<g><title>{label}</title>")
        parts.append(f'<rect x="{x}" y="{height - h}" width="{w}" height="{h}" fill="#1d4f91"/>')
        if gone:
            parts.append(
                f'<rect x="{x}" y="{height - gone}" width="{w}" height="{gone}" fill="#c8102e"/>'
            )
        parts.append("</g>")
        if n <= 31:
            parts.append(
                f'<text x="{round(i * bar + bar / 2, 1)}" y="{height + 15}" font-size="10" '
                f'text-anchor="middle">{d.day:%d}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)
