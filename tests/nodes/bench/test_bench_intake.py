"""The P2 benchmark runs end to end and reports its baseline and the ratio."""

from __future__ import annotations

from caseledger.nodes.bench.intake import render, run


def test_the_intake_bench_reports_the_import_beside_the_raw_insert_of_its_rows() -> None:
    report = run(records=40, batch=20, calls=2, insecure=True)
    imported, baseline = report["figures"]
    # Two events a submission (the case, the claim of its number), every one measured.
    assert imported["events"] == 80
    assert baseline["events"] == 80
    assert report["ratio"] == imported["events_per_second"] / baseline["events_per_second"]
    assert "import / raw insert" in render(report)
