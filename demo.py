"""Demo data: an organisation, an e-formation order, 12 trainees, this week's sessions.

Outside the packages (like wsgi.py): it drives every feature through its own services, so
that no package depends on all the others; the app factory registers its command."""

from __future__ import annotations

from contextlib import suppress
from datetime import UTC, date, datetime, time, timedelta

import click
from flask import current_app
from sqlalchemy import select

from attendance import company
from attendance import services as sessions
from core import services as accounts
from core.auth import Principal
from core.clock import PARIS
from core.config import LOCAL_ENVS
from core.db import utcnow
from core.errors import DomainError
from core.extensions import db
from core.models import Organisation, Role, Trainee, User
from sites import booking as seats
from sites import services as sites
from sites.models import Site
from training import services as training
from training.models import Group

SIRET = "13002802100018"
PASSWORD = "demo-competences-2026"  # noqa: S105 - demo data only, printed to the console
TRAINEES = [
    ("Amina", "Benali"),
    ("Lucas", "Martin"),
    ("Chloé", "Garcia"),
    ("Karim", "Haddad"),
    ("Léa", "Fabre"),
    ("Thomas", "Roux"),
    ("Inès", "Moreau"),
    ("Julien", "Vidal"),
    ("Sarah", "Lopez"),
    ("Mehdi", "Sanchez"),
    ("Camille", "Blanc"),
    ("Nicolas", "Pujol"),
]
INVITED = 3  # the first trainees get an invitation code, printed by `flask demo`
STAFF = {
    "region": ("region@demo.competences-plus.fr", Role.REGION, "Régine", "Occitanie"),
    "admin": ("admin@demo.competences-plus.fr", Role.ORG_ADMIN, "Anne", "Castan"),
    "trainer": ("formateur@demo.competences-plus.fr", Role.TRAINER, "Paul", "Séverac"),
    "finance": ("finance@demo.competences-plus.fr", Role.FINANCE, "Fanny", "Delmas"),
    "site": ("site@demo.competences-plus.fr", Role.SITE_STAFF, "Samir", "Albouy"),
}


def _principal(user: User) -> Principal:
    return Principal(user.id, user.role, user.organisation_id, user.site_id, user.full_name)


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=PARIS)


def load_demo() -> list[str]:
    """Create the demo world the first time; every time, plan what today needs (this week's
    sessions if the week has none, a session running now) and print fresh logins and codes."""
    organisation = db.session.scalar(select(Organisation).where(Organisation.siret == SIRET))
    if organisation is None:
        codes = _create_world()
        db.session.commit()
        return ["Données de démonstration chargées.", *_logins(codes)]
    lines = _replan(organisation)
    db.session.commit()
    return ["Les données de démonstration sont déjà chargées.", *lines]


def _create_world() -> list[tuple[str, str]]:
    argon2 = current_app.config["ARGON2"]
    users = {}
    region = accounts.add_user(
        email=STAFF["region"][0],
        password=PASSWORD,
        role=Role.REGION,
        argon2=argon2,
        first_name=STAFF["region"][2],
        last_name=STAFF["region"][3],
    )
    organisation = accounts.create_organisation(
        _principal(region), "Occitanie Compétences Formation", SIRET
    )
    site = sites.create_site(
        _principal(region),
        {
            "name": "Site Occitanie e-formation de Figeac",
            "department": "46",
            "city": "Figeac",
            "seats": 8,
            "opening_hours": {"lun-ven": "08:30-12:30, 13:30-17:30"},
            "address": "2 place Vival",
        },
    )
    cahors = sites.create_site(
        _principal(region),
        {
            "name": "Cyber-base de Cahors",
            "department": "46",
            "city": "Cahors",
            "seats": 2,
            "opening_hours": {"lun-ven": "09:00-12:00, 14:00-17:00", "sam": "09:00-12:00"},
            "address": "16 rue de la Préfecture",
        },
    )
    for key in ("admin", "trainer", "finance", "site"):
        email, role, first, last = STAFF[key]
        users[key] = accounts.add_user(
            email=email,
            password=PASSWORD,
            role=role,
            argon2=argon2,
            first_name=first,
            last_name=last,
            organisation_id=organisation.id if key != "site" else None,
            site_id=site.id if key == "site" else None,
        )
    admin = _principal(users["admin"])
    codes = _load_training(admin, _principal(users["trainer"]), site.id)
    _book_seats(admin, site.id, cahors.id)
    return codes


def _book_seats(admin: Principal, figeac_id: str, cahors_id: str) -> None:
    """Seats for the demo: the week's distance sessions still ahead at Figeac for the first
    trainees, and a free autoformation slot next Tuesday at Cahors (2 seats) for three of
    them: two confirmed, one on the waitlist."""
    now = utcnow()
    trainees = list(
        db.session.scalars(
            select(Trainee)
            .where(Trainee.organisation_id == admin.organisation_id)
            .order_by(Trainee.last_name)
        )
    )[:3]
    today = now.astimezone(PARIS).date()
    monday = today - timedelta(days=today.weekday())
    for session in sessions.sessions_between(admin, _at(monday, 0), 7):
        if session.kind == "regroupement" or session.starts_at <= now:
            continue
        for trainee in trainees[:2]:
            with suppress(DomainError):  # a holiday: the site is closed that day
                seats.book_seat(
                    admin, figeac_id, {"trainee_id": trainee.id, "session_id": session.id}, now
                )
    tuesday = monday + timedelta(days=8)
    slot = {
        "starts_at": _at(tuesday, 9).astimezone(UTC),
        "ends_at": _at(tuesday, 12).astimezone(UTC),
    }
    for trainee in trainees:
        with suppress(DomainError):
            seats.book_seat(
                admin, cahors_id, {"trainee_id": trainee.id, "waitlist": True, **slot}, now
            )


def _staff(key: str) -> User:
    user = db.session.scalar(select(User).where(User.email == STAFF[key][0]))
    assert user is not None  # noqa: S101 - created with the organisation
    return user


def _replan(organisation: Organisation) -> list[str]:
    """A later run: the demo group gets this week's sessions and one running now, when the
    order still covers today; its first trainees get new invitation codes."""
    admin, trainer = _principal(_staff("admin")), _principal(_staff("trainer"))
    group = db.session.scalar(
        select(Group).where(Group.organisation_id == organisation.id).order_by(Group.created_at)
    )
    assert group is not None  # noqa: S101 - created with the organisation
    today = utcnow().astimezone(PARIS).date()
    if not group.order.start_date <= today <= group.order.end_date:
        return [
            "Le bon de commande de démonstration ne couvre plus aujourd'hui : "
            "`make demo-reset` repart de zéro.",
            *_logins(None),
        ]
    monday = today - timedelta(days=today.weekday())
    site_id = db.session.scalar(select(Site.id).where(Site.name.like("%Figeac%")))
    planned = sessions.sessions_between(trainer, _at(monday, 0), 7)
    if not planned:  # a later week: the same week again, without the welcome day (R10)
        _plan_week(trainer, group.id, monday, today, site_id, welcome=False)
    elif not any(s.starts_at <= utcnow() < s.ends_at for s in planned):
        _plan_running(trainer, group.id, today)
    return _logins(_new_codes(admin, organisation))


def _new_codes(admin: Principal, organisation: Organisation) -> list[tuple[str, str]]:
    """Fresh invitation codes for the demo's first trainees (earlier unused ones lapse)."""
    codes = []
    for first, last in TRAINEES[:INVITED]:
        trainee = db.session.scalar(
            select(Trainee).where(
                Trainee.organisation_id == organisation.id,
                Trainee.first_name == first,
                Trainee.last_name == last,
            )
        )
        if trainee is not None:
            codes.append(_invite(admin, trainee))
    return codes


def _invite(admin: Principal, trainee: Trainee) -> tuple[str, str]:
    """A new invitation code for a demo trainee (earlier unused ones lapse)."""
    issued = accounts.issue_invitation(
        admin,
        trainee,
        now=utcnow(),
        ttl_s=current_app.config["INVITATION_TTL_S"],
        secret_key=current_app.config["SECRET_KEY"],
    )
    return trainee.full_name, issued.code


def _load_training(admin: Principal, trainer: Principal, site_id: str) -> list[tuple[str, str]]:
    today = utcnow().astimezone(PARIS).date()
    monday = today - timedelta(days=today.weekday())
    order = training.create_order(
        admin,
        {
            "number": f"BC-{monday.year}-0042",
            "title": "Anglais professionnel — Occitanie e-formation",
            "modality": "e_formation",
            "start_date": monday,
            "end_date": monday + timedelta(days=150),
            "centre_hours": 140.0,
            "min_synchronous_share": 0.5,
            "forecast_headcount": 12,
        },
    )
    group = training.create_group(
        admin,
        order.id,
        {
            "name": "Groupe A — Figeac",
            "component": "Anglais professionnel",
            "trainer_ids": [trainer.id],
            "start_date": monday,
        },
    )
    codes = []
    for index, (first, last) in enumerate(TRAINEES):
        trainee = training.create_trainee(
            admin,
            {
                "first_name": first,
                "last_name": last,
                "email": f"{first.lower()}.{last.lower()}@exemple.fr".replace("é", "e").replace(
                    "è", "e"
                ),
            },
        )
        enrolment = training.enrol(
            admin,
            group.id,
            {
                "trainee_id": trainee.id,
                "entry_date": monday,
                "planned_centre_hours": 140.0,
                "planned_company_hours": 35.0,
            },
        )
        if index < INVITED:
            codes.append(_invite(admin, trainee))
        if index == 0:
            _plan_company_period(admin, enrolment.id, monday)
    _plan_week(trainer, group.id, monday, today, site_id)
    return codes


def _plan_company_period(admin: Principal, enrolment_id: str, monday: date) -> None:
    """The first trainee's period in a company (R2), weeks 8 to 10 of the order."""
    company.create_period(
        admin,
        enrolment_id,
        {
            "company_name": "Hôtel du Lot",
            "siret": "41234567800018",
            "tutor_name": "Claire Roques",
            "tutor_email": "claire.roques@exemple.fr",
            "tutor_phone": "05 65 00 00 00",
            "start_date": monday + timedelta(weeks=7),
            "end_date": monday + timedelta(weeks=9, days=4),
            "planned_hours": 35.0,
        },
        utcnow(),
    )


def _plan_week(
    trainer: Principal,
    group_id: str,
    monday: date,
    today: date,
    site_id: str | None,
    *,
    welcome: bool = True,
) -> None:
    plan = [
        ("regroupement", "Journée d'accueil", monday, (9, 0), (12, 0), "accueil"),
        ("tutorat", "Présentations et objectifs", monday, (13, 30), (16, 30), None),
        ("tutorat", "Se présenter en entretien", monday + timedelta(days=1), (9, 0), (12, 0), None),
        (
            "autoformation",
            "Vocabulaire du métier",
            monday + timedelta(days=2),
            (9, 0),
            (11, 0),
            None,
        ),
        ("tutorat", "Téléphoner en anglais", monday + timedelta(days=3), (14, 0), (17, 0), None),
        ("autoformation", "Compréhension orale", monday + timedelta(days=4), (9, 0), (11, 0), None),
    ]
    for kind, title, day, (h1, m1), (h2, m2), reason in plan[0 if welcome else 1 :]:
        sessions.plan_session(
            trainer,
            group_id,
            {
                "kind": kind,
                "title": title,
                "starts_at": _at(day, h1, m1).astimezone(UTC),
                "ends_at": _at(day, h2, m2).astimezone(UTC),
                "regroupement_reason": reason,
                "site_id": site_id if kind == "regroupement" else None,
            },
        )
    _plan_running(trainer, group_id, today)


def _plan_running(trainer: Principal, group_id: str, today: date) -> None:
    """A session running now, so the émargement can be tried at once (signing opens 15 min
    before a start: this one started on the last 5-minute mark and lasts up to 2 hours, until
    the day's next session). None when one of the day's sessions runs now already."""
    now = utcnow().astimezone(PARIS)
    start = now.replace(minute=now.minute - now.minute % 5, second=0, microsecond=0)
    end = min(start + timedelta(hours=2), _at(today, 23, 59))
    planned = sessions.sessions_between(trainer, _at(today, 0), 1)
    if any(s.starts_at <= now < s.ends_at for s in planned):
        return
    end = min([end, *(s.starts_at for s in planned if s.starts_at > start)])
    if end - start < timedelta(minutes=15):
        return
    sessions.plan_session(
        trainer,
        group_id,
        {
            "kind": "tutorat",
            "title": "Atelier de conversation (en cours)",
            "starts_at": start.astimezone(UTC),
            "ends_at": end.astimezone(UTC),
            "regroupement_reason": None,
            "site_id": None,
        },
    )


def _logins(codes: list[tuple[str, str]] | None) -> list[str]:
    base = current_app.config["PUBLIC_BASE_URL"]
    lines = ["", f"Ouvrez {base}/connexion et connectez-vous avec (mot de passe : {PASSWORD}) :"]
    for label, key in (
        ("Région", "region"),
        ("Référent de l'organisme", "admin"),
        ("Formateur", "trainer"),
        ("Finance", "finance"),
        ("Animateur de site", "site"),
    ):
        lines.append(f"  {label:<26} {STAFF[key][0]}")
    if codes:
        lines.append("")
        lines.append(
            f"Stagiaires : ouvrez {base}/invitation et saisissez un code (un appareil par code) :"
        )
        lines.extend(f"  {name:<26} {code}" for name, code in codes)
    else:
        lines.append(
            "Stagiaires : le référent crée une nouvelle invitation depuis la fiche du stagiaire."
        )
    return lines


@click.command("demo")
def demo_command() -> None:
    """Load the demo data, or plan today's sessions again; print logins and trainee codes.

    The first run creates an organisation, an order, a group of 12 trainees and this week's
    sessions. Every run makes sure a session is running now and prints fresh invitation codes
    (development and testing only: the demo's passwords are public)."""
    if current_app.config["APP_ENV"] not in LOCAL_ENVS:
        raise click.ClickException(
            "Les données de démonstration ont des mots de passe publiés dans le dépôt : "
            "elles ne se chargent qu'avec APP_ENV=development ou APP_ENV=testing."
        )
    for line in load_demo():
        click.echo(line)
