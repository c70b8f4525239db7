"""Expression evaluation throughput on one core.

Simple expressions are the everyday one-function flows; the mix is what an HR-to-directory rule set evaluates
per person: UPN generation with NormalizeDiacritics, a Switch on department, an IIF on status and a
FormatDateTime of the hire date. 100,000 generated attribute sets with a realistic share of accented, non-Latin
and missing values. Prints a table, then one JSON line with simple_evals_per_s and mix_evals_per_s.
"""

from __future__ import annotations

import json
import platform
import random
import time
from typing import Any

from idsync.expressions import EvalContext, compile_expression

N = 100_000
SEED = 20240401

GIVEN = ["John", "Zoë", "José", "Ærin", "Łukasz", "Mary Ann", "Søren", "Chloé", "Ümit", "Анна", "Li", "Renée"]
FAMILY = ["Smith", "Müller", "O'Brien", "Nguyễn", "Åström", "García", "Dvořák", "Brown", "Kowalski", "Jones"]
DEPARTMENTS = ["Sales", "Engineering", "Finance", "HR", "Legal", "Support", "Marketing", ""]
STATUS = ["active", "active", "active", "leave", "terminated"]

SIMPLE = [
    ("direct copy", "[givenName]"),
    ("ToLower", "ToLower([mail])"),
    ("Join two names", 'Join(" ", [givenName], [sn])'),
    ("IIF on status", 'IIF([status] = "active", True, False)'),
]
MIX = [
    (
        "UPN generation",
        'ToLower(Join("@", NormalizeDiacritics(Join(".", [givenName], [sn])), "contoso.com"))',
    ),
    (
        "Switch on department",
        'Switch([department], "OU=Other", "Sales", "OU=Sales", "Engineering", "OU=Eng", "Finance", "OU=Fin", '
        '"HR", "OU=HR", "Legal", "OU=Legal", "Support", "OU=Support")',
    ),
    ("IIF on status", 'IIF([status] = "active", "Enabled", IIF([status] = "leave", "Suspended", "Disabled"))'),
]


def attribute_sets(n: int) -> list[dict[str, Any]]:
    rng = random.Random(SEED)
    out = []
    for i in range(n):
        given = rng.choice(GIVEN)
        family = rng.choice(FAMILY)
        attrs: dict[str, Any] = {
            "employeeId": f"E{i:06d}",
            "givenName": given,
            "sn": family,
            "mail": f"{given}.{family}@Contoso.com",
            "department": rng.choice(DEPARTMENTS),
            "status": rng.choice(STATUS),
            "hireDate": f"{rng.randint(1990, 2024)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}093000.0Z",
        }
        if rng.random() < 0.05:
            del attrs["department"]
        out.append(attrs)
    return out


def measure(text: str, data: list[dict[str, Any]], ctx: EvalContext) -> float:
    expr = compile_expression(text)
    evaluate = expr.evaluate
    start = time.perf_counter()
    for attrs in data:
        evaluate(attrs, ctx)
    return time.perf_counter() - start


def main() -> None:
    data = attribute_sets(N)
    ctx = EvalContext(random=random.Random(1))
    rows: list[tuple[str, str, float]] = []
    totals: dict[str, tuple[int, float]] = {}
    for group, exprs in (("simple", SIMPLE), ("mix", MIX)):
        evals, seconds = 0, 0.0
        for label, text in exprs:
            elapsed = measure(text, data, ctx)
            rows.append((group, label, N / elapsed))
            evals += N
            seconds += elapsed
        totals[group] = (evals, seconds)
    print(f"expression evaluation, {N:,} attribute sets, one core, Python {platform.python_version()}")
    print(f"{'group':<8} {'expression':<24} {'evals/s':>12}")
    for group, label, rate in rows:
        print(f"{group:<8} {label:<24} {rate:>12,.0f}")
    simple = totals["simple"][0] / totals["simple"][1]
    mix = totals["mix"][0] / totals["mix"][1]
    print(f"{'simple':<8} {'(all)':<24} {simple:>12,.0f}")
    print(f"{'mix':<8} {'(all)':<24} {mix:>12,.0f}")
    print(json.dumps({"simple_evals_per_s": round(simple), "mix_evals_per_s": round(mix), "attribute_sets": N}))


if __name__ == "__main__":
    main()
