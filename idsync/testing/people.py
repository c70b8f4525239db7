"""Deterministic, realistic HR people for the quickstart, the tests and the benchmarks.

Names come from many languages, with the diacritics, apostrophes, spaces and hyphens that break naive identity
code (Ní Bhriain, D'Angelo, Łukasiewicz, Nguyễn, Öztürk, 's-Hertogenbosch). The organisation is a real tree:
a CEO, one head per department reporting to the CEO, and everyone else reporting to someone earlier in their own
department, so managers always come before their reports and there is no cycle.

:func:`generate` streams: memory stays bounded by the per-department manager pools, not by ``n``. The same
``(n, seed)`` always gives the same people, and a smaller ``n`` gives a prefix of a larger one.
"""

from __future__ import annotations

import bisect
import contextlib
import csv
import itertools
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from idsync.connectors.csv.files import atomic_writer

COLUMNS = [
    "employeeId",
    "givenName",
    "sn",
    "displayName",
    "department",
    "title",
    "managerId",
    "location",
    "status",
    "hireDate",
    "mobile",
]

ACTIVE = "active"
LEAVER = "leaver"
LEAVER_RATE = 0.03
MANAGER_RATE = 0.08
"""The share of hires who become people managers while their department's pool has room."""
POOL_LIMIT = 400
"""Managers per department that later hires may report to: what bounds the generator's memory."""
FIRST_HIRE = date(2001, 1, 2).toordinal()
LAST_HIRE = date(2025, 6, 30).toordinal()


@dataclass(frozen=True, slots=True)
class Culture:
    given: tuple[str, ...]
    surnames: tuple[str, ...]
    locations: tuple[str, ...]
    phone: str
    family_name_first: bool = False


CULTURES: dict[str, Culture] = {
    "french": Culture(
        ("Zoé", "Hélène", "François", "Léa", "Jérôme", "Anaïs", "Benoît", "Cécile", "Jean-Noël", "Maëlle", "Noël"),
        ("Lefèvre", "Béranger", "Gauthier", "Dubois", "L'Écuyer", "D'Arcy", "Fournier", "Leroy", "Saint-Exupéry"),
        ("Paris", "Lyon", "Montréal", "Genève"),
        "+33 6",
    ),
    "german": Culture(
        ("Jürgen", "Jörg", "Björn", "Käthe", "Günther", "Lena", "Maximilian", "Sönke", "Anneliese", "Uwe"),
        ("Müller", "Schäfer", "Groß", "Weiß", "Köhler", "Müller-Lüdenscheidt", "von Bülow", "Hoffmann", "Nußbaum"),
        ("München", "Zürich", "Düsseldorf", "Köln", "Wien"),
        "+49 151",
    ),
    "nordic": Culture(
        ("Søren", "Åsa", "Bjørn", "Ingrid", "Sigurður", "Guðrún", "Mikael", "Märta", "Þórdís", "Oskar"),
        ("Åström", "Kjær", "Lindström", "Østergaard", "Sigurðsdóttir", "Jóhannsson", "Nyström", "Bäckström"),
        ("Malmö", "Göteborg", "Tromsø", "Reykjavík", "Århus"),
        "+46 70",
    ),
    "spanish": Culture(
        ("José", "María", "Iñigo", "Begoña", "Ramón", "Lucía", "Álvaro", "Mónica", "Jesús", "Ángela"),
        ("Núñez", "Peña", "Muñoz", "Ibáñez", "García", "Sánchez", "de la Fuente", "Martínez-Ortega", "Gómez"),
        ("Madrid", "Málaga", "Bogotá", "Ciudad de México"),
        "+34 6",
    ),
    "portuguese": Culture(
        ("João", "Conceição", "Luís", "Inês", "Gonçalo", "Joana", "Sebastião", "Márcia", "Antônio", "Lúcia"),
        ("Gonçalves", "Araújo", "Simões", "Magalhães", "Conceição", "Azevedo", "Brandão", "da Silva", "Lourenço"),
        ("São Paulo", "Lisboa", "Brasília", "Porto"),
        "+351 91",
    ),
    "polish": Culture(
        ("Łukasz", "Małgorzata", "Wojciech", "Zofia", "Grzegorz", "Agnieszka", "Paweł", "Jadwiga", "Michał"),
        ("Wójcik", "Kowalczyk", "Wiśniewski", "Łukasiewicz", "Żak", "Dąbrowski", "Woźniak", "Kamiński", "Gwóźdź"),
        ("Kraków", "Łódź", "Gdańsk", "Wrocław"),
        "+48 501",
    ),
    "czech": Culture(
        ("Jiří", "Kateřina", "Tomáš", "Zuzana", "Bořivoj", "Markéta", "Lukáš", "Věra", "Přemysl"),
        ("Dvořák", "Novák", "Černý", "Růžička", "Procházka", "Kučera", "Veselý", "Horák", "Šťastný"),
        ("Brno", "Praha", "České Budějovice", "Ostrava"),
        "+420 602",
    ),
    "turkish": Culture(
        ("Ayşe", "Gökhan", "Çağla", "İbrahim", "Şükrü", "Ömer", "Gül", "Ilgın", "Hülya", "Barış"),
        ("Yılmaz", "Şahin", "Öztürk", "Çelik", "Doğan", "Kılıç", "Aydın", "Yıldız", "Güneş"),
        ("İstanbul", "İzmir", "Ankara"),
        "+90 532",
    ),
    "vietnamese": Culture(
        ("Thảo", "Minh", "Đức Anh", "Hương", "Quỳnh", "Tuấn", "Thị Lan", "Bảo Ngọc", "Văn Hùng"),
        ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Võ", "Đặng", "Bùi"),
        ("Hà Nội", "Đà Nẵng", "Thành phố Hồ Chí Minh"),
        "+84 91",
        family_name_first=True,
    ),
    "irish": Culture(
        ("Siobhán", "Seán", "Aoife", "Niamh", "Pádraig", "Caoimhe", "Eoin", "Róisín", "Ciarán", "Saoirse"),
        ("O'Brien", "O'Sullivan", "O'Connor", "Ní Bhriain", "Mac Giolla Phádraig", "Ó Súilleabháin", "Kennedy"),
        ("Dublin", "Galway", "Cork"),
        "+353 87",
    ),
    "italian": Culture(
        ("Niccolò", "Giulia", "Nicolò", "Chiara", "Lucrezia", "Salvatore", "Federica", "Mattia", "Ilaria"),
        ("D'Angelo", "D'Amico", "Dell'Orto", "D'Alessandro", "Esposito", "Russo", "Lo Bianco", "Dall'Ara"),
        ("Milano", "Torino", "Forlì", "Napoli"),
        "+39 347",
    ),
    "dutch": Culture(
        ("Daan", "Sanne", "Joëlle", "Bram", "Eline", "Sjoerd", "Noë", "Maartje", "Thijs"),
        ("van der Berg", "de Vries", "van 't Hof", "Bakker", "de Jong", "van Dijk", "Visser", "ter Horst"),
        ("Amsterdam", "'s-Hertogenbosch", "Utrecht", "Antwerpen"),
        "+31 6",
    ),
    "hungarian": Culture(
        ("Zsófia", "Győző", "Ágnes", "Ödön", "Réka", "Bálint", "Előd", "Tünde"),
        ("Kovács", "Szőke", "Nagy", "Tóth", "Horváth", "Szűcs", "Fehér", "Kiss"),
        ("Budapest", "Győr", "Pécs"),
        "+36 30",
        family_name_first=True,
    ),
    "romanian": Culture(
        ("Ștefan", "Ioana", "Mădălina", "Răzvan", "Andreea", "Bogdan", "Tudor", "Cătălina"),
        ("Popescu", "Ionescu", "Constantinescu", "Dumitrașcu", "Stănescu", "Țurcanu", "Mureșan"),
        ("București", "Cluj-Napoca", "Timișoara"),
        "+40 722",
    ),
    "english": Culture(
        ("James", "Olivia", "Chloë", "Liam", "Emma", "Noah", "Sophie", "Jack", "Grace", "Mary-Kate"),
        ("Smith", "Johnson", "Brown", "Taylor", "Wilson", "Davies", "Evans", "Thompson", "Ferguson-Smythe"),
        ("London", "New York", "Toronto", "Sydney"),
        "+44 7700",
    ),
}
_CULTURE_NAMES = tuple(CULTURES)
_ALL_LOCATIONS = tuple(loc for c in CULTURES.values() for loc in c.locations)
_ALL_SURNAMES = tuple(s for c in CULTURES.values() for s in c.surnames)

EXECUTIVE = "Executive Office"
DEPARTMENTS: dict[str, tuple[int, tuple[str, ...]]] = {
    "Engineering": (18, ("Software Engineer", "Senior Software Engineer", "Site Reliability Engineer", "QA Engineer")),
    "Sales": (14, ("Account Executive", "Sales Representative", "Key Account Manager", "Sales Engineer")),
    "Customer Support": (12, ("Support Specialist", "Support Engineer", "Customer Success Manager")),
    "Operations": (9, ("Operations Analyst", "Logistics Coordinator", "Process Engineer")),
    "Marketing": (7, ("Marketing Specialist", "Content Strategist", "Brand Manager", "SEO Analyst")),
    "Finance": (6, ("Accountant", "Financial Analyst", "Controller", "Payroll Specialist")),
    "Information Technology": (6, ("Systems Administrator", "Identity Engineer", "Network Engineer")),
    "Research & Development": (8, ("Research Scientist", "Lab Technician", "Data Scientist")),
    "Human Resources": (4, ("HR Business Partner", "Recruiter", "Learning & Development Specialist")),
    "Product Management": (5, ("Product Manager", "Product Owner", "UX Designer")),
    "Legal": (2, ("Legal Counsel", "Paralegal", "Compliance Officer")),
    "Procurement": (3, ("Buyer", "Category Manager", "Procurement Analyst")),
    "Facilities": (3, ("Facilities Coordinator", "Office Manager", "Maintenance Technician")),
}
"""Department -> (relative size, titles of individual contributors)."""
_DEPARTMENT_NAMES = tuple(DEPARTMENTS)
_CUMULATIVE_WEIGHTS = tuple(itertools.accumulate(weight for weight, _titles in DEPARTMENTS.values()))
FIRST_NUMBER = 100_000


@dataclass(slots=True)
class _Org:
    """The generator's state: a random stream and, per department, the managers later hires may report to."""

    rng: random.Random
    pools: dict[str, list[str]] = field(default_factory=dict)
    ceo: str = ""


def _pick(draw: Callable[[], float], choices: Sequence[str]) -> str:
    """``random.choice`` with one float draw: a third of the allocations, which is what tracing memory costs."""
    return choices[int(draw() * len(choices))]


def _person(org: _Org, number: int, department: str, manager: str, title: str | None, mobile: bool) -> dict[str, str]:
    draw = org.rng.random
    culture = CULTURES[_pick(draw, _CULTURE_NAMES)]
    given = _pick(draw, culture.given)
    sn = _pick(draw, culture.surnames)
    location = _pick(draw, culture.locations if draw() < 0.7 else _ALL_LOCATIONS)
    leaver = title is None and draw() < LEAVER_RATE
    phone = ""
    if draw() < 0.8:
        digits = int(draw() * 10_000_000)
        phone = f"{culture.phone} {digits // 10_000:03d} {digits % 10_000:04d}"
    person = {
        "employeeId": f"E{number:07d}",
        "givenName": given,
        "sn": sn,
        "displayName": f"{sn} {given}" if culture.family_name_first else f"{given} {sn}",
        "department": department,
        "title": title if title is not None else _pick(draw, DEPARTMENTS[department][1]),
        "managerId": manager,
        "location": location,
        "status": LEAVER if leaver else ACTIVE,
        "hireDate": date.fromordinal(FIRST_HIRE + int(draw() * (LAST_HIRE - FIRST_HIRE))).isoformat(),
    }
    if mobile:
        person["mobile"] = phone
    return person


def generate(n: int, seed: int = 1, *, mobile: bool = True) -> Iterator[dict[str, str]]:
    """``n`` people as dicts of :data:`COLUMNS` (``mobile`` empty for about a fifth, absent if not wanted)."""
    org = _Org(random.Random(seed))
    draw = org.rng.random
    total = _CUMULATIVE_WEIGHTS[-1]
    for i in range(n):
        number = FIRST_NUMBER + i
        if i == 0:
            person = _person(org, number, EXECUTIVE, "", "Chief Executive Officer", mobile)
            org.ceo = person["employeeId"]
        elif i <= len(_DEPARTMENT_NAMES):
            department = _DEPARTMENT_NAMES[i - 1]
            person = _person(org, number, department, org.ceo, f"Head of {department}", mobile)
            org.pools[department] = [person["employeeId"]]
        else:
            department = _DEPARTMENT_NAMES[bisect.bisect(_CUMULATIVE_WEIGHTS, draw() * total)]
            pool = org.pools[department]
            person = _person(org, number, department, _pick(draw, pool), None, mobile)
            if person["status"] == ACTIVE and len(pool) < POOL_LIMIT and draw() < MANAGER_RATE:
                person["title"] = f"{department} Manager"
                pool.append(person["employeeId"])
        yield person


def write_csv(path: Path | str, n: int, seed: int = 1, *, mobile: bool = True) -> int:
    """Write ``n`` generated people to ``path`` (UTF-8, a header row), streaming; returns ``n``."""
    columns = COLUMNS if mobile else COLUMNS[:-1]
    with atomic_writer(Path(path), "utf-8") as handle:
        writer = csv.DictWriter(handle, columns, lineterminator="\r\n")
        writer.writeheader()
        for person in generate(n, seed, mobile=mobile):
            writer.writerow(person)
    return n


# -- changes against an existing file, for delta benchmarks ------------------------------------------------------

CHANGE_KINDS: dict[str, int] = {"rename": 15, "move": 15, "leaver": 15, "edit": 35, "hire": 20}
"""Kind -> relative weight of the changes :func:`apply_changes` makes."""


@dataclass(slots=True)
class Changes:
    counts: dict[str, int] = field(default_factory=dict)
    employee_ids: list[str] = field(default_factory=list)
    """Every employee changed or hired, once each."""


@contextlib.contextmanager
def _rows(path: Path) -> Iterator[tuple[list[str], Iterator[list[str]]]]:
    """The header and the rows of a people file, as lists (a DictReader would triple the time of a pass)."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        yield next(reader, []), reader


def apply_changes(path: Path | str, n: int, seed: int = 1) -> Changes:
    """Make ``n`` random HR changes to a people file in place: surname changes (``rename``), department moves,
    leavers, title/location/mobile edits, and new hires appended. Each existing employee changes at most once
    and the hierarchy stays a tree within departments. Streams the file three times; memory is bounded by ``n``
    and the number of managers."""
    path = Path(path)
    rng = random.Random(seed)
    managers: set[str] = set()
    count = 0
    top = FIRST_NUMBER - 1
    with _rows(path) as (header, rows):
        at = {name: i for i, name in enumerate(header)}
        employee, manager = at["employeeId"], at["managerId"]
        for fields in rows:
            count += 1
            managers.add(fields[manager])
            digits = fields[employee].removeprefix("E")
            if digits.isdigit():
                top = max(top, int(digits))
    teams: dict[str, list[str]] = {}
    """Department -> its active managers: whom a mover or a new hire reports to."""
    with _rows(path) as (_header, rows):
        department, status = at["department"], at["status"]
        for fields in rows:
            if fields[employee] in managers and fields[status] == ACTIVE and fields[department] in DEPARTMENTS:
                teams.setdefault(fields[department], []).append(fields[employee])
    if not teams:
        raise ValueError(f"{path}: no department has an active manager to report to")
    weights = [DEPARTMENTS[d][0] for d in teams]

    kinds = rng.choices(list(CHANGE_KINDS), list(CHANGE_KINDS.values()), k=n)
    existing = [k for k in kinds if k != "hire"]
    if len(existing) > count:
        raise ValueError(f"{path}: {len(existing)} changes asked of {count} people")
    plan = dict(zip(rng.sample(range(count), len(existing)), existing, strict=True))
    changes = Changes({kind: 0 for kind in CHANGE_KINDS})
    with _rows(path) as (_header, rows), atomic_writer(path, "utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(header)
        for position, fields in enumerate(rows):
            kind = plan.get(position)
            if kind is not None:
                row = dict(zip(header, fields, strict=True))
                kind = _change(rng, row, kind, managers, teams)
                changes.counts[kind] += 1
                changes.employee_ids.append(row["employeeId"])
                fields = [row[name] for name in header]
            writer.writerow(fields)
        org = _Org(rng)
        for number in range(top + 1, top + 1 + kinds.count("hire")):
            hired = rng.choices(list(teams), weights)[0]
            person = _person(org, number, hired, rng.choice(teams[hired]), None, "mobile" in at)
            person["status"] = ACTIVE
            writer.writerow([person.get(name, "") for name in header])
            changes.counts["hire"] += 1
            changes.employee_ids.append(person["employeeId"])
    return changes


def _change(rng: random.Random, row: dict[str, str], kind: str, managers: set[str], teams: dict[str, list[str]]) -> str:
    """Apply one change to ``row``; returns the kind applied (an edit when the planned one does not fit: only
    people without reports move or leave)."""
    has_reports = row["employeeId"] in managers or not row["managerId"]
    if kind == "rename":
        family_first = row["displayName"].startswith(row["sn"])
        row["sn"] = _other(rng, _ALL_SURNAMES, row["sn"])
        given = row["givenName"]
        row["displayName"] = f"{row['sn']} {given}" if family_first else f"{given} {row['sn']}"
        return kind
    if kind == "move" and not has_reports:
        targets = [d for d in teams if d != row["department"]]
        if targets:
            row["department"] = rng.choice(targets)
            row["managerId"] = rng.choice(teams[row["department"]])
            row["title"] = rng.choice(DEPARTMENTS[row["department"]][1])
            return kind
    if kind == "leaver" and not has_reports and row["status"] == ACTIVE:
        row["status"] = LEAVER
        return kind
    column = rng.choice(["title", "location", "mobile"] if "mobile" in row else ["title", "location"])
    if column == "title":
        titles = DEPARTMENTS[row["department"]][1] if row["department"] in DEPARTMENTS else ()
        row["title"] = _other(rng, (*titles, "Senior Specialist", "Principal"), row["title"])
    elif column == "location":
        row["location"] = _other(rng, _ALL_LOCATIONS, row["location"])
    else:
        row["mobile"] = _other(
            rng, (f"+41 79 {rng.randrange(100, 1000)} {rng.randrange(1000, 10000)}", ""), row["mobile"]
        )
    return "edit"


def _other(rng: random.Random, choices: tuple[str, ...], current: str) -> str:
    """A choice different from ``current`` (``choices`` holds at least two distinct values)."""
    while True:
        picked = rng.choice(choices)
        if picked != current:
            return picked
