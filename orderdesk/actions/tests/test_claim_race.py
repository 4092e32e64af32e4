from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection

from orderdesk.actions.kinds.base import ActionResult
from orderdesk.actions.kinds.kajabi import KajabiGrant
from orderdesk.actions.models import ActionRun, RunStatus
from orderdesk.actions.services import run_action
from orderdesk.actions.tests.builders import kajabi, paid_order, queued
from orderdesk.testing import factories

WORKERS = 4
ROUNDS = 5


@pytest.mark.postgres
def test_it_runs_a_run_once_when_workers_race_for_it(
    transactional_db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locking is only meaningful on PostgreSQL (DATABASE_URL=postgres://...)")
    world = factories.world()
    kajabi(world, "http://kajabi.invalid")
    calls: list[int] = []

    def counted_run(self: KajabiGrant, snapshot: Any, run: ActionRun) -> ActionResult:
        calls.append(run.pk)
        return ActionResult(http_status=200)

    monkeypatch.setattr(KajabiGrant, "run", counted_run)
    run_ids = []
    for _ in range(ROUNDS):
        [run] = queued(paid_order(world))
        run_ids.append(run.pk)

    for run_id in run_ids:
        start = threading.Barrier(WORKERS)
        outcomes: list[ActionRun | None] = []

        def worker(
            run_id: int = run_id,
            start: threading.Barrier = start,
            outcomes: list[ActionRun | None] = outcomes,
        ) -> None:
            try:
                start.wait()
                outcomes.append(run_action(run_id))
            finally:
                connection.close()

        threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert sum(o is not None for o in outcomes) == 1
        assert len(outcomes) == WORKERS

    assert sorted(calls) == sorted(run_ids)
    assert set(ActionRun.objects.values_list("status", flat=True)) == {RunStatus.SUCCEEDED}
