"""A value the store cannot hold is the failure of the object that made it, not of the sync: on PostgreSQL, whose
text cannot hold a NUL character, an expression that makes one fails that person and the others go on."""

from __future__ import annotations

import base64

from lab import HR_TO_DIR, STORE_CHOSEN_BY_TEST, Lab, person, step

from idsync.model import RunStatus

NUL = base64.b64encode(b"a\x00b").decode()


@STORE_CHOSEN_BY_TEST
def test_a_value_postgres_cannot_hold_is_an_error_row_and_the_sync_goes_on(lab: Lab, postgres_url: str) -> None:
    config = HR_TO_DIR.replace(
        """displayName: 'Join(" ", [givenName], [sn])'""",
        f"""displayName: 'IIF([givenName] = "Bob", ConvertFromBase64("{NUL}", UTF8), Join(" ", [givenName], [sn]))'""",
    )
    assert config != HR_TO_DIR
    lab.configure(f"store: {postgres_url}\n{config}")
    hr = lab.directory("hr")
    lab.directory("dir")
    person(hr, "E1", "Ann", "Lee")
    person(hr, "E2", "Bob", "Ray")
    person(hr, "E3", "Cy", "Ng")
    run = lab.cycle()
    assert run.status is RunStatus.COMPLETED_ERRORS
    synced = step(run, "hr", "delta-sync")
    assert synced.status is RunStatus.COMPLETED_ERRORS and synced.counters.errors == 1
    (error,) = lab.errors(run)
    assert error.code == "store-refused" and "'displayName' holds a NUL character" in error.reason
    assert error.identifier is not None and "E2" in error.identifier
    assert sorted(o.identifier for o in lab.dirs["dir"].objects()) == ["uid=E1,ou=people", "uid=E3,ou=people"]
