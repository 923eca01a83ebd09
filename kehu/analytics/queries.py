# ruff: noqa: S608 — SQL is assembled from table names, constants and validated numbers; values are parameters.
"""Reads of the computed scores: the RFM grid, segment counts, transitions between two dates."""

from datetime import date

from django.db import connection
from django.db.models import Count, Sum

from .engine import SEGMENT_GRID
from .models import SEGMENTS, CustomerScore, SegmentSnapshot


def rfm_grid(workspace) -> dict:
    """Counts of customers per (R, FM) cell and per segment, with their historical value."""
    cells = {
        (row["r"], row["fm"]): row["n"]
        for row in CustomerScore.objects.filter(r__isnull=False).values("r", "fm").annotate(n=Count("id"))
    }
    by_segment = {
        row["segment"]: (row["n"], row["value"])
        for row in CustomerScore.objects.exclude(segment="")
        .values("segment")
        .annotate(n=Count("id"), value=Sum("historical_value"))
    }
    grid = [
        {
            "r": r,
            "cells": [
                {"r": r, "fm": fm, "segment": SEGMENT_GRID[r][fm - 1], "count": cells.get((r, fm), 0)}
                for fm in range(1, 6)
            ],
        }
        for r in range(5, 0, -1)
    ]
    segments = [
        {
            "segment": key,
            "label": str(label),
            "count": by_segment.get(key, (0, 0))[0],
            "historical_value": float(by_segment.get(key, (0, 0))[1] or 0),
        }
        for key, label in SEGMENTS
    ]
    return {"grid": grid, "segments": segments, "customers": sum(cells.values())}


def snapshot_dates() -> list[date]:
    return list(SegmentSnapshot.objects.values_list("date", flat=True).distinct().order_by("-date")[:400])


def transitions(workspace, date_a: date, date_b: date) -> dict:
    """How many accounts moved from each segment at ``date_a`` to each segment at ``date_b`` (the
    segment at a date is the latest snapshot on or before it; "" = no segment yet)."""
    table = SegmentSnapshot._meta.db_table

    def at(param: str) -> str:
        day = f"CAST(%({param})s AS date)" if connection.vendor == "postgresql" else f"%({param})s"
        return (
            f"SELECT s.account_id, s.segment FROM {table} s JOIN (SELECT account_id, MAX(date) AS d FROM "
            f"{table} "
            f"WHERE workspace_id = %(ws)s AND date <= {day} GROUP BY account_id) AS l "
            "ON l.account_id = s.account_id AND l.d = s.date WHERE s.workspace_id = %(ws)s"
        )

    with connection.cursor() as cur:
        cur.execute(
            f"SELECT COALESCE(a.segment, ''), COALESCE(b.segment, ''), COUNT(*) FROM ({at('b')}) AS b "
            f"LEFT JOIN ({at('a')}) AS a ON a.account_id = b.account_id GROUP BY 1, 2",
            {"ws": workspace.pk, "a": date_a.isoformat(), "b": date_b.isoformat()},
        )
        rows = cur.fetchall()
    keys = [key for key, _label in SEGMENTS]
    counts = {(a, b): n for a, b, n in rows}
    return {
        "from_date": date_a.isoformat(),
        "to_date": date_b.isoformat(),
        "segments": ["", *keys],
        "cells": [{"from": a, "to": b, "count": n} for (a, b), n in sorted(counts.items()) if n],
        "moved": sum(n for (a, b), n in counts.items() if a != b),
        "total": sum(counts.values()),
    }
