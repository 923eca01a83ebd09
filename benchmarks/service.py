# ruff: noqa: S311 — a seeded generator must be reproducible, not cryptographic.
"""The service-desk benchmark (issue 6): ticket queues and a ticket's conversation through HTTP.

``generate`` fills a new workspace ``service`` (deterministic for a given ``--seed`` and day) with
accounts and contacts, 4 queues (teams) of 5 agents, N tickets (default 2,000,000) with realistic
status / priority / channel / type / category mixes, SLA policies per priority with the due columns
computed by the SLA clock (business hours of the default calendar) and the response / resolution /
breach stamps consistent with the status, and M conversation entries (default 10,000,000; 5 per
ticket on average) — written straight to the tables with the bench conventions of
``kehu bench generate`` (COPY on PostgreSQL, executemany on SQLite, secondary indexes dropped during
the load and re-created, ANALYZE). ``run`` starts granian as ``benchmarks/run.py`` does, prints
p50/p95 per scenario (c=1 and c=2) and writes a results JSON; before that it counts the SQL queries
of the queue in-process for pages of 20 and 50 rows (the SLA badge must come from the row, never
from a query per row).

    python benchmarks/service.py generate [--tickets 2000000] [--entries 10000000] [--scale 1.0]
    python benchmarks/service.py run [--requests 100]

PostgreSQL (throwaway server): ``scripts/pg-server run -- sh -c '.venv/bin/kehu migrate &&
.venv/bin/python benchmarks/service.py generate --scale 0.1 && .venv/bin/python benchmarks/service.py run'``.
"""

import argparse
import json
import os
import random
import re
import sys
import time
import urllib.parse
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kehu.settings")

import run as runner  # noqa: E402 - benchmarks/run.py: the same HTTP client, server and statistics

QUEUE_TARGET = 100.0  # issue 6: queue views p95 ≤ 100 ms
DETAIL_TARGET = 100.0
PAGE_TARGET = 300.0  # the HTML page renders the rows, the toolbar and the layout
QUEUES = ("一线客服", "二线技术", "VIP 客服", "投诉处理")
AGENTS_PER_QUEUE = 5
CATEGORIES = (
    "账户与登录",
    "账单与发票",
    "配送与物流",
    "退换货",
    "产品故障",
    "功能咨询",
    "安装与培训",
    "其他",
)
PRIORITIES = (("low", 20), ("normal", 55), ("high", 20), ("urgent", 5))
CHANNELS = (("email", 40), ("web", 20), ("phone", 15), ("chat", 8), ("wechat", 12), ("api", 3), ("bot", 2))
TYPES = (("inquiry", 50), ("request", 25), ("incident", 17), ("complaint", 8))
# Minutes of business time per priority: (first response, resolution).
SLA_TARGETS = {"urgent": (30, 240), "high": (60, 480), "normal": (240, 1440), "low": (480, 2880)}
# Generated over two years up to the benchmark's "today" (midnight UTC of the generation day): the
# SLA badge and the breached queue compare with the real clock, so open tickets must be recent.
SPAN_DAYS = 730
DAY = 86400
OPEN = ["new", "open", "pending", "on_hold", "reopened"]


def pick(rng: random.Random, items):
    return rng.choices([k for k, _w in items], [w for _k, w in items])[0]


# --- generate --------------------------------------------------------------------------------------


def status_for(rng: random.Random, age_days: float) -> str:
    """Recent tickets are mostly open; older ones resolved, then (auto-)closed; a thin old backlog."""
    if age_days < 7:
        mix = (("new", 18), ("open", 35), ("pending", 15), ("on_hold", 5), ("reopened", 4), ("resolved", 23))
    elif age_days < 45:
        mix = (("open", 9), ("pending", 7), ("on_hold", 3), ("reopened", 2), ("closed", 79))
    else:
        mix = (("open", 0.15), ("pending", 0.1), ("on_hold", 0.05), ("closed", 99.7))
    return pick(rng, mix)


def generate(args) -> None:
    import django

    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction
    from django_scopes import scope

    from kehu.customers.models import Account, Contact
    from kehu.operations.management.commands.bench import (
        BENCH_PASSWORD,
        Command,
        TableWriter,
        indexes_dropped,
        next_id,
        reset_sequences,
    )
    from kehu.sla import clock
    from kehu.sla.models import SlaPolicy
    from kehu.sla.services import calendar_spec, default_calendar
    from kehu.tickets.models import Ticket, TicketCategory, TicketCounter, TicketEntry
    from kehu.users.models import User
    from kehu.workspaces import services as workspace_services
    from kehu.workspaces.models import Team

    n_tickets = max(1, int(args.tickets * args.scale))
    n_entries = max(n_tickets, int(args.entries * args.scale))
    n_accounts = max(1, n_tickets // 20)
    n_contacts = max(1, n_tickets // 5)
    per_ticket = n_entries / n_tickets
    rng = random.Random(args.seed)
    bench = Command()
    overall = time.monotonic()
    now = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = now - timedelta(days=SPAN_DAYS)
    print(
        f"Generating into {connection.vendor}: {n_tickets:,} tickets, ~{n_entries:,} entries, "
        f"{n_accounts:,} accounts, {n_contacts:,} contacts (seed {args.seed}, today {now:%Y-%m-%d}).",
        flush=True,
    )
    hashed = make_password(BENCH_PASSWORD)
    with transaction.atomic():
        workspace, actor, sales = bench.workspace(args.workspace)
        with scope(workspace=workspace):
            queues = []
            for q, name in enumerate(QUEUES):
                team = Team.objects.create(workspace=workspace, name=name)
                members = []
                for a in range(AGENTS_PER_QUEUE):
                    i = q * AGENTS_PER_QUEUE + a + 1
                    user = User.objects.create(
                        email=f"agent{i:02d}@{args.workspace}.test", password=hashed, name=f"客服{i:02d}"
                    )
                    workspace_services.add_member(actor, user, "service")
                    members.append(user)
                team.members.set(members)
                queues.append((team.pk, [u.pk for u in members]))
            calendar = default_calendar(workspace)
            policies = {}
            for position, (priority, (first, resolution)) in enumerate(SLA_TARGETS.items()):
                policies[priority] = SlaPolicy.objects.create(
                    workspace=workspace,
                    name=f"SLA {priority}",
                    position=position,
                    conditions={"priority": [priority]},
                    first_response_minutes=first,
                    resolution_minutes=resolution,
                    calendar=calendar,
                )
            for position, name in enumerate(CATEGORIES):
                TicketCategory.objects.create(workspace=workspace, name=name, position=position)
            spec = calendar_spec(calendar)
    ws = workspace.pk
    stamp = {"workspace_id": ws, "created_by_id": actor.user.pk, "updated_by_id": actor.user.pk}
    sales_ids = [u.pk for u in sales]
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous = OFF")
            cursor.execute("PRAGMA cache_size = -1000000")
            cursor.execute("PRAGMA foreign_keys = OFF")
    models = [Account, Contact, Ticket, TicketEntry]
    a0, c0, t0 = next_id(Account), next_id(Contact), next_id(Ticket)
    due_cache: dict = {}

    def due(priority: str, created: datetime) -> tuple[datetime, datetime]:
        # The SLA clock per (policy, minute): interval arithmetic, exact, cached for repeated minutes.
        key = (priority, created.replace(second=0, microsecond=0))
        hit = due_cache.get(key)
        if hit is None:
            first, resolution = SLA_TARGETS[priority]
            hit = (
                clock.warn_and_due(spec, key[1], first, 80)[1],
                clock.warn_and_due(spec, key[1], resolution, 80)[1],
            )
            due_cache[key] = hit
        return hit

    with indexes_dropped(models, print), transaction.atomic():
        started = time.monotonic()
        accounts = TableWriter(Account, ids=True)
        for i in range(n_accounts):
            at = start - timedelta(days=365) + timedelta(seconds=365 * DAY * i / n_accounts)
            accounts.add(
                {
                    **stamp,
                    "id": a0 + i,
                    "created_at": at,
                    "updated_at": at,
                    "owner_id": rng.choice(sales_ids),
                    "name": f"客户{i:07d}有限公司",
                    "kind": "company",
                    "country": "CN",
                    "grade": rng.choice(["strategic", "important", "ordinary", "ordinary", "ordinary"]),
                    "custom": {},
                }
            )
        accounts.flush()
        contacts = TableWriter(Contact, ids=True)
        for i in range(n_contacts):
            at = start - timedelta(days=365) + timedelta(seconds=365 * DAY * i / n_contacts)
            contacts.add(
                {
                    **stamp,
                    "id": c0 + i,
                    "created_at": at,
                    "updated_at": at,
                    "owner_id": rng.choice(sales_ids),
                    "name": f"联系人{i:07d}",
                    "account_id": a0 + i % n_accounts,
                    "email": f"contact{i}@example.cn",
                    "custom": {},
                    "social": {},
                }
            )
        contacts.flush()
        print(
            f"  {accounts.count:,} accounts + {contacts.count:,} contacts in "
            f"{time.monotonic() - started:.1f} s",
            flush=True,
        )

        started = time.monotonic()
        tickets = TableWriter(Ticket, ids=True)
        entries = TableWriter(TicketEntry, batch=50_000)
        counts: dict[str, int] = {}
        span = SPAN_DAYS * DAY
        for i in range(n_tickets):
            created = start + timedelta(seconds=span * i / n_tickets + rng.random() * 600)
            age = (now - created).total_seconds() / DAY
            status = status_for(rng, age)
            counts[status] = counts.get(status, 0) + 1
            priority = pick(rng, PRIORITIES)
            ttype = pick(rng, TYPES)
            team, members = queues[3] if ttype == "complaint" else rng.choice(queues[:3])
            if rng.random() < 0.05:
                team, members = queues[2]  # VIP queue
            owner = rng.choice(members)
            if status == "new" or (status in OPEN and rng.random() < 0.15):
                owner = None  # waiting in the queue
            contact = rng.randrange(n_contacts)
            first_due, resolution_due = due(priority, created)
            # Timeline: first response, then (for finished tickets) resolution; ~12% miss the target.
            responded = resolved = closed = paused = breached = None
            late = rng.random() < 0.12
            if status != "new":
                frac = rng.uniform(1.0, 3.0) if late else rng.uniform(0.1, 0.95)
                responded = created + (first_due - created) * frac
                if responded > now:
                    responded = None
            if status in ("resolved", "closed"):
                frac = rng.uniform(1.0, 2.5) if late else rng.uniform(0.2, 0.95)
                resolved = max(responded or created, created + (resolution_due - created) * frac)
                if resolved > now:
                    resolved = now - timedelta(minutes=rng.randrange(1, 600))
                    responded = min(responded or resolved, resolved)
                if status == "closed":
                    closed = resolved + timedelta(days=7)
            if status in ("pending", "on_hold"):
                paused = max(responded or created, now - timedelta(seconds=rng.random() * min(age, 5) * DAY))
            if (responded and responded > first_due) or (resolved and resolved > resolution_due):
                breached = min(first_due if not responded or responded > first_due else resolution_due, now)
            elif (
                status in OPEN
                and paused is None
                and ((responded is None and first_due < now) or resolution_due < now)
            ):
                breached = first_due if responded is None and first_due < now else resolution_due
            # The business minutes the services stamp (no pauses before these: sla_paused_minutes is 0).
            first_minutes = clock.business_minutes_between(spec, created, responded) if responded else None
            resolution_minutes = clock.business_minutes_between(spec, created, resolved) if resolved else None
            changed = closed or resolved or paused or responded or created
            tickets.add(
                {
                    **stamp,
                    "id": t0 + i,
                    "created_at": created,
                    "updated_at": changed,
                    "owner_id": owner,
                    "team_id": team,
                    "number": i + 1,
                    "subject": f"{rng.choice(CATEGORIES)}问题 #{i + 1}",
                    "description": "客户来信描述的问题。",
                    "account_id": a0 + contact % n_accounts,
                    "contact_id": c0 + contact,
                    "requester_email": f"contact{contact}@example.cn",
                    "requester_name": f"联系人{contact:07d}",
                    "channel": pick(rng, CHANNELS),
                    "type": ttype,
                    "category": rng.choice(CATEGORIES),
                    "priority": priority,
                    "status": status,
                    "language": "zh-hans" if rng.random() < 0.85 else "en",
                    "custom": {},
                    "satisfaction": rng.choice([5, 5, 4, 4, 3, 2, 1])
                    if closed and rng.random() < 0.3
                    else None,
                    "severity": rng.choice(["low", "medium", "high"]) if ttype == "complaint" else "",
                    "sla_policy_id": policies[priority].pk,
                    "first_response_due_at": first_due,
                    "first_responded_at": responded,
                    "resolution_due_at": resolution_due,
                    "resolved_at": resolved,
                    "first_response_business_minutes": first_minutes,
                    "resolution_business_minutes": resolution_minutes,
                    "closed_at": closed,
                    "sla_paused_at": paused,
                    "sla_paused_minutes": 0,
                    "sla_breached_at": breached,
                    "status_changed_at": changed,
                }
            )
            # Entries: the customer's message, then replies / notes / customer messages alternating.
            k = max(1, min(40, round(rng.expovariate(1 / per_ticket)) if per_ticket > 1 else 1))
            at = created
            end = min(now, closed or resolved or now)
            step = max(60.0, (end - created).total_seconds() / (k + 1))
            for e in range(k):
                kind = "customer" if e == 0 else rng.choice(["reply", "reply", "customer", "note"])
                entries.add(
                    {
                        **stamp,
                        "created_at": at,
                        "updated_at": at,
                        "ticket_id": t0 + i,
                        "kind": kind,
                        "author_id": owner if kind != "customer" else None,
                        "sender_email": f"contact{contact}@example.cn" if kind == "customer" else "",
                        "body": "您好，关于这个问题我们已经在处理，请稍候。"
                        if kind != "customer"
                        else "你好，我遇到一个问题，请帮忙看看。",
                    }
                )
                at = at + timedelta(seconds=step * rng.uniform(0.5, 1.0))
        tickets.flush()
        entries.flush()
        print(
            f"  tickets: {tickets.count:,} ({counts}) + {entries.count:,} entries in "
            f"{time.monotonic() - started:.1f} s",
            flush=True,
        )
    reset_sequences(models)
    with transaction.atomic(), scope(workspace=workspace):
        TicketCounter.objects.update_or_create(workspace=workspace, defaults={"last_value": n_tickets})
    bench.analyze()
    print(f"Done in {time.monotonic() - overall:.0f} s.", flush=True)


# --- run -------------------------------------------------------------------------------------------


def spec(*conditions: dict) -> str:
    return urllib.parse.quote(
        json.dumps({"op": "and", "conditions": list(conditions)}, separators=(",", ":"))
    )


OPEN_CONDITION = {"field": "status", "lookup": "in", "value": OPEN}


def prepare(slug: str) -> dict:
    from django.db.models import Count
    from django_scopes import scope

    from kehu.tickets.models import Ticket, TicketEntry
    from kehu.workspaces.models import Team

    workspace, members = runner.members(slug)
    admin, agent = members[f"admin@{slug}.test"], members[f"agent01@{slug}.test"]
    with scope(workspace=workspace):
        team = Team.objects.get(name=QUEUES[0])
        # The detail scenario opens a long conversation of a recent open ticket.
        recent = (
            Ticket.objects.filter(status="open").order_by("-created_at").values_list("pk", flat=True)[:200]
        )
        detail = (
            Ticket.objects.filter(pk__in=list(recent))
            .annotate(n=Count("entries"))
            .order_by("-n", "pk")
            .values_list("pk", "n")
            .first()
        )
        info = {
            "workspace": slug,
            "admin_key": runner.api_key(admin, "service benchmark"),
            "agent_key": runner.api_key(agent, "service benchmark"),
            "tickets": Ticket.objects.count(),
            "entries": TicketEntry.objects.count(),
            "by_status": dict(Ticket.objects.values_list("status").annotate(n=Count("id")).order_by()),
            "agent_id": agent.user_id,
            "agent_open": Ticket.objects.filter(owner_id=agent.user_id, status__in=OPEN).count(),
            "team_id": team.pk,
            "ticket_id": detail[0],
            "ticket_entries": detail[1],
            "ticket_number": Ticket.objects.get(pk=detail[0]).number,
            "category": CATEGORIES[4],
        }
    return info


def scenarios(info: dict) -> list[dict]:
    base = "/api/v1/tickets?limit=50"
    s = [
        (
            "queue: my open tickets (agent)",
            "agent",
            f"{base}&filters={spec({'field': 'owner', 'lookup': 'eq', 'value': 'me'}, OPEN_CONDITION)}",
            QUEUE_TARGET,
        ),
        (
            "queue: unassigned of a team",
            "admin",
            f"{base}&team_id={info['team_id']}&unassigned=true&filters={spec(OPEN_CONDITION)}",
            QUEUE_TARGET,
        ),
        (
            "queue: breached (open)",
            "admin",
            f"{base}&sla=breached&filters={spec(OPEN_CONDITION)}",
            QUEUE_TARGET,
        ),
        ("queue: all open, newest first", "admin", f"{base}&filters={spec(OPEN_CONDITION)}", QUEUE_TARGET),
        (
            "queue: all open (agent, service role)",
            "agent",
            f"{base}&filters={spec(OPEN_CONDITION)}",
            QUEUE_TARGET,
        ),
        (
            "queue: category + priority (open)",
            "admin",
            f"{base}&category={urllib.parse.quote(info['category'])}&priority=high&filters={spec(OPEN_CONDITION)}",
            QUEUE_TARGET,
        ),
        ("queue: all tickets, newest first", "admin", base, QUEUE_TARGET),
        ("queue: all open, next page (cursor)", "admin", "CURSOR", QUEUE_TARGET),
        ("queue page HTML: all open tab", "web", "/tickets/?tab=open", PAGE_TARGET),
        ("queue page HTML: breached tab", "web", "/tickets/?tab=breached", PAGE_TARGET),
        ("ticket detail (API)", "admin", f"/api/v1/tickets/{info['ticket_id']}", DETAIL_TARGET),
        (
            "ticket entries (API)",
            "admin",
            f"/api/v1/tickets/{info['ticket_id']}/entries?limit=100",
            DETAIL_TARGET,
        ),
        ("ticket page HTML (conversation)", "web", f"/tickets/{info['ticket_id']}/", PAGE_TARGET),
    ]
    return [dict(name=n, actor=a, method="GET", path=u, target=t) for n, a, u, t in s]


def query_counts(info: dict) -> dict:
    """SQL queries of one queue request, in-process, for 20 and 50 rows: equal counts mean the SLA
    badge (and everything else on a row) comes from the page's own query, not one query per row."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from kehu.users.models import User

    out = {}
    api = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {info['admin_key']}")
    for name, path in (
        ("API all open", f"/api/v1/tickets?filters={spec(OPEN_CONDITION)}"),
        ("API breached", f"/api/v1/tickets?sla=breached&filters={spec(OPEN_CONDITION)}"),
        ("API all tickets", "/api/v1/tickets?"),
    ):
        counts = []
        api.get(f"{path}&limit=5")  # the first request warms per-process caches (key, definitions)
        for limit in (20, 50):
            with CaptureQueriesContext(connection) as captured:
                response = api.get(f"{path}&limit={limit}")
            assert response.status_code == 200, (path, response.status_code, response.content[:300])
            rows = len(response.json()["items"])
            counts.append((rows, len(captured)))
        out[name] = counts
    # The HTML queue shows 50 rows a page; a search for one ticket number gives a 1-row page.
    web = Client(HTTP_HOST="127.0.0.1")
    web.force_login(User.objects.get(email=f"admin@{info['workspace']}.test"))
    counts = []
    for path in (f"/tickets/?tab=open&q=%23{info['ticket_number']}", "/tickets/?tab=open"):
        web.get(path)  # the first request of a session warms per-session caches
        with CaptureQueriesContext(connection) as captured:
            response = web.get(path)
        assert response.status_code == 200, (path, response.status_code)
        rows = len(set(re.findall(r'href="/tickets/(\d+)/"', response.content.decode())))
        counts.append((rows, len(captured)))
    out["HTML queue (1 row vs 50 rows)"] = counts
    return out


def run(args) -> None:
    runner.setup_django()
    from django.db import connection

    vendor = connection.vendor
    info = prepare(args.workspace)
    print(
        f"{vendor}: {info['tickets']:,} tickets, {info['entries']:,} entries; by status {info['by_status']}; "
        f"agent01 has {info['agent_open']} open; detail ticket {info['ticket_id']} with "
        f"{info['ticket_entries']} entries",
        flush=True,
    )
    counts = query_counts(info)
    print("Queries per queue request (rows, queries):")
    for name, value in counts.items():
        print(f"  {name}: {value}")
    api_same = all(v[0][1] == v[1][1] for k, v in counts.items() if k.startswith("API"))
    html = counts["HTML queue (1 row vs 50 rows)"]
    html_same = html[0][1] == html[1][1]
    print(f"  query count independent of the rows: API {api_same}, HTML {html_same}", flush=True)
    keys = {"admin": info["admin_key"], "agent": info["agent_key"], "web": runner.browser(args.workspace)}
    results = []
    with runner.serving(args.workers) as port:
        for scenario in scenarios(info):
            if args.only.lower() not in scenario["name"].lower():
                continue
            key = keys[scenario["actor"]]
            if scenario["path"] == "CURSOR":
                _status, body, _ms = runner.Client(port, key).request(
                    "GET", f"/api/v1/tickets?limit=50&filters={spec(OPEN_CONDITION)}"
                )
                cursor = json.loads(body)["next_cursor"]
                scenario["path"] = f"/api/v1/tickets?limit=50&filters={spec(OPEN_CONDITION)}&cursor={cursor}"
            # Two connections warm both granian workers (a cold worker showed as a 3–8 s p99 at c=1).
            status, body = runner.warm_up(port, key, scenario, args.warmup, clients=2)
            if status < 400 and scenario["path"].startswith("/api/v1/tickets?"):
                scenario["rows"] = len(json.loads(body)["items"])
            for result in runner.rounds(
                port,
                key,
                scenario,
                args.requests,
                concurrent=not args.no_concurrent,
                width=44,
                suffix=f" rows={scenario.get('rows', '-')}",
            ):
                result["rows"] = scenario.get("rows")
                results.append(result)
    runner.finish(
        "service-",
        vendor,
        info,
        args.requests,
        results,
        load_average=" ".join(f"{x:.2f}" for x in os.getloadavg()),
        query_counts=counts,
        query_count_independent_of_rows={"api": api_same, "html": html_same},
    )
    if not (api_same and html_same):
        raise SystemExit("the queue's query count depends on the rows of the page (per-row queries)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    actions = parser.add_subparsers(dest="action", required=True)
    gen = actions.add_parser("generate", help="Fill a new workspace with tickets and conversations.")
    gen.add_argument("--tickets", type=int, default=2_000_000)
    gen.add_argument("--entries", type=int, default=10_000_000)
    gen.add_argument("--scale", type=float, default=1.0, help="Multiply both counts (0.1 = 200k tickets).")
    gen.add_argument("--seed", type=int, default=42)
    gen.add_argument("--workspace", default="service")
    go = actions.add_parser("run", help="Measure the queues and a ticket's conversation through HTTP.")
    go.add_argument("--requests", type=int, default=100, help="Requests per scenario and mode.")
    go.add_argument("--warmup", type=int, default=5)
    go.add_argument("--workers", type=int, default=2)
    go.add_argument("--only", default="", help="Only scenarios whose name contains this text.")
    go.add_argument("--no-concurrent", action="store_true")
    go.add_argument("--workspace", default="service")
    args = parser.parse_args()
    generate(args) if args.action == "generate" else run(args)


if __name__ == "__main__":
    main()
