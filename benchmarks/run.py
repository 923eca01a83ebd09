"""The Kehu HTTP benchmark: latencies of the customer core through the real stack.

Starts granian serving ``kehu.wsgi:application`` (as ``kehu serve`` does) on a free loopback port
against the database of ``KEHU_DATABASE_URL`` (filled by ``kehu bench generate``), creates API keys
for an administrator (sees everything) and a sales rep ("own" scope), warms up, then sends each
scenario's requests — sequentially and from 2 concurrent clients — and prints p50/p95/p99/max
against the targets of issue 3. Results go to ``benchmarks/results/<db>-<date>.json``.

    python benchmarks/run.py [--requests 200] [--workspace bench] [--only search]

See benchmarks/README.md.
"""

import argparse
import contextlib
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kehu.settings")

LIST_TARGET = 100.0
VIEW_TARGET = 150.0
BULK_TARGET = 1000.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


class Client:
    """One keep-alive HTTP connection, like one browser tab or API integration.

    ``key`` is an API key, or ``("session", email, password)`` for the HTML pages, which only a
    browser session may open: the client logs in through the login form like a browser.
    """

    def __init__(self, port: int, key):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        if isinstance(key, tuple):
            self.headers = {"Accept-Language": "zh-hans", "Cookie": self.login(key[1], key[2])}
        else:
            self.headers = {"Authorization": f"Bearer {key}", "Accept-Language": "zh-hans"}

    def login(self, email: str, password: str) -> str:
        import re

        self.conn.request("GET", "/login/")
        response = self.conn.getresponse()
        page = response.read().decode()
        cookies = {}
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                cookies[name] = rest.split(";", 1)[0]
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        body = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "username": email, "password": password})
        self.conn.request(
            "POST",
            "/login/",
            body=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Referer": f"http://127.0.0.1:{self.port}/login/",
                "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
            },
        )
        response = self.conn.getresponse()
        response.read()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                cookies[name] = rest.split(";", 1)[0]
        if "sessionid" not in cookies:
            raise SystemExit(f"login as {email} failed (HTTP {response.status})")
        return "; ".join(f"{k}={v}" for k, v in cookies.items())

    def request(self, method: str, path: str, body=None) -> tuple[int, bytes, float]:
        headers = dict(self.headers)
        data = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode()
            headers["Content-Type"] = "application/json"
        for attempt in (1, 2):
            try:
                started = time.perf_counter()
                self.conn.request(method, path, body=data, headers=headers)
                response = self.conn.getresponse()
                payload = response.read()
                return response.status, payload, (time.perf_counter() - started) * 1000
            except (ConnectionError, http.client.HTTPException):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def setup_django():
    import django

    django.setup()


def members(slug: str) -> tuple:
    """The workspace ``slug`` and its memberships by email (the generators' users)."""
    from django_scopes import scopes_disabled

    from kehu.workspaces.models import Membership, Workspace

    workspace = Workspace.objects.get(slug=slug)
    with scopes_disabled():
        found = {
            m.user.email: m
            for m in Membership.objects.select_related("user", "role", "workspace").filter(
                workspace=workspace
            )
        }
    return workspace, found


def api_key(membership, label: str) -> str:
    """A new API key of ``membership`` (call inside the workspace's scope)."""
    from kehu.workspaces.access import Actor
    from kehu.workspaces.services import create_api_key

    return create_api_key(Actor(membership), label)[1]


def browser(slug: str) -> tuple:
    """The ``Client`` key of the HTML pages: a browser session of the workspace's administrator."""
    from kehu.operations.management.commands.bench import BENCH_PASSWORD

    return ("session", f"admin@{slug}.test", BENCH_PASSWORD)


def prepare(workspace_slug: str) -> dict:
    """API keys and the concrete values the scenarios ask for (a real phone, email, big account)."""
    from django.db.models import Count
    from django_scopes import scope

    from kehu.core.normalize import display_phone
    from kehu.customers.models import Account, Contact
    from kehu.users.models import User

    workspace, memberships = members(workspace_slug)
    admin = memberships[f"admin@{workspace_slug}.test"]
    sales = memberships[f"sales01@{workspace_slug}.test"]
    info: dict = {"workspace": workspace_slug}
    with scope(workspace=workspace):
        info["admin_key"] = api_key(admin, "benchmark")
        info["sales_key"] = api_key(sales, "benchmark")
        info["contacts"] = Contact.objects.count()
        info["accounts"] = Account.objects.count()
        # A contact from the middle of the table: its phone (national format) and email.
        middle = (
            Contact.objects.filter(phone__startswith="+86").order_by("pk")[info["contacts"] // 2 :].first()
        )
        info["phone"] = display_phone(middle.phone, workspace.default_region)
        info["email"] = middle.email
        own = Contact.objects.filter(owner=sales.user, phone__startswith="+86").order_by("-pk").first()
        info["sales_phone"] = display_phone(own.phone, workspace.default_region) if own else info["phone"]
        # The account with the most contacts, i.e. the longest timeline (key accounts come first).
        first = list(Account.objects.order_by("pk").values_list("pk", flat=True)[:100])
        big = (
            Contact.objects.filter(account_id__in=first)
            .values("account_id")
            .annotate(n=Count("id"))
            .order_by("-n")
            .first()
        )
        info["account_id"] = big["account_id"] if big else Account.objects.order_by("pk").first().pk
        info["timeline_entries"] = timeline_size(info["account_id"])
        sales_account = Account.objects.filter(owner=sales.user).order_by("pk").first()
        info["sales_account_id"] = sales_account.pk if sales_account else info["account_id"]
        info["owner_id"] = User.objects.get(email=f"admin@{workspace_slug}.test").pk
    return info


def timeline_size(account_id: int) -> int:
    from django.apps import apps

    if not apps.is_installed("kehu.activities"):
        return 0
    from django.db.models import Q

    from kehu.customers.models import Contact

    link = apps.get_model("activities", "ActivityLink")
    contacts = Contact.objects.filter(account_id=account_id).values("id")
    return link.objects.filter(
        Q(object_type="customers.account", object_id=account_id)
        | Q(object_type="customers.contact", object_id__in=contacts)
    ).count()


def scenarios(info: dict) -> list[dict]:
    q = urllib.parse.quote
    s = [
        ("contacts list, first page", "admin", "GET", "/api/v1/contacts", LIST_TARGET),
        ("accounts list, first page", "admin", "GET", "/api/v1/accounts", LIST_TARGET),
        ("accounts filtered by city", "admin", "GET", f"/api/v1/accounts?city={q('上海')}", LIST_TARGET),
        (
            "contacts filtered by custom field",
            "admin",
            "GET",
            "/api/v1/contacts?custom.level=vip",
            LIST_TARGET,
        ),
        (
            "accounts filtered by custom field",
            "admin",
            "GET",
            "/api/v1/accounts?custom.tier=key",
            LIST_TARGET,
        ),
        ("search Chinese name 王伟", "admin", "GET", f"/api/v1/contacts?q={q('王伟')}", LIST_TARGET),
        ("search Chinese name 欧阳", "admin", "GET", f"/api/v1/contacts?q={q('欧阳')}", LIST_TARGET),
        ("search pinyin zhangwei", "admin", "GET", "/api/v1/contacts?q=zhangwei", LIST_TARGET),
        ("search Latin name part 'johnson'", "admin", "GET", "/api/v1/contacts?q=johnson", LIST_TARGET),
        (
            "search phone (national format)",
            "admin",
            "GET",
            f"/api/v1/contacts?q={q(info['phone'])}",
            LIST_TARGET,
        ),
        ("search email", "admin", "GET", f"/api/v1/contacts?q={q(info['email'])}", LIST_TARGET),
        ("search account name 科技", "admin", "GET", f"/api/v1/accounts?q={q('科技')}", LIST_TARGET),
        ("contacts page (HTML)", "web", "GET", "/contacts/", LIST_TARGET),
        ("contacts page search 王伟 (HTML)", "web", "GET", f"/contacts/?q={q('王伟')}", LIST_TARGET),
        (
            f"360 view API ({info['timeline_entries']} timeline entries)",
            "admin",
            "GET",
            f"/api/v1/accounts/{info['account_id']}/360",
            VIEW_TARGET,
        ),
        ("account page (HTML, 360 view)", "web", "GET", f"/accounts/{info['account_id']}/", VIEW_TARGET),
        ("sales 'own': contacts list", "sales", "GET", "/api/v1/contacts", LIST_TARGET),
        ("sales 'own': search 王伟", "sales", "GET", f"/api/v1/contacts?q={q('王伟')}", LIST_TARGET),
        (
            "sales 'own': search phone",
            "sales",
            "GET",
            f"/api/v1/contacts?q={q(info['sales_phone'])}",
            LIST_TARGET,
        ),
        (
            "sales 'own': 360 view API",
            "sales",
            "GET",
            f"/api/v1/accounts/{info['sales_account_id']}/360",
            VIEW_TARGET,
        ),
    ]
    return [dict(name=n, actor=a, method=m, path=p, target=t) for n, a, m, p, t in s]


def bulk_payload(run: int, i0: int, n: int = 1000) -> dict:
    surnames = "王李张刘陈杨黄赵吴周"
    given = ["伟", "芳", "娜", "敏", "静", "磊", "强", "洋"]
    items = []
    for i in range(i0, i0 + n):
        items.append(
            {
                "name": surnames[i % 10] + given[i % 8],
                "email": f"bulk{run}.{i}@example.org",
                "phone": f"139 {run % 10000:04d} {i % 10000:04d}",
                "job_title": "采购经理",
                "custom": {"level": "b"},
            }
        )
    return {"items": items}


def measure(port: int, key: str, scenario: dict, n: int, concurrency: int) -> dict:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    per_client = max(1, n // concurrency)

    def worker():
        client = Client(port, key)
        for _ in range(per_client):
            status, _body, ms = client.request(scenario["method"], scenario["path"])
            with lock:
                latencies.append(ms)
                statuses[status] = statuses.get(status, 0) + 1

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return summarize(scenario, latencies, statuses, concurrency)


def summarize(scenario: dict, latencies: list[float], statuses: dict, concurrency: int) -> dict:
    p95 = percentile(latencies, 95)
    ok = all(200 <= s < 300 for s in statuses)
    return {
        "scenario": scenario["name"],
        "actor": scenario["actor"],
        "path": scenario.get("path", ""),
        "concurrency": concurrency,
        "n": len(latencies),
        "p50": round(percentile(latencies, 50), 1),
        "p95": round(p95, 1),
        "p99": round(percentile(latencies, 99), 1),
        "max": round(max(latencies), 1),
        "mean": round(statistics.fmean(latencies), 1),
        "target": scenario["target"],
        "statuses": {str(k): v for k, v in statuses.items()},
        "pass": ok and p95 <= scenario["target"],
    }


def warm_up(port: int, key, scenario: dict, times: int, clients: int = 1) -> tuple[int, bytes]:
    """``times`` requests of the scenario from each of ``clients`` connections (two reach both granian
    workers); the first connection's last answer, printed when it is an error."""
    first, *others = [Client(port, key) for _ in range(clients)]
    for _ in range(times):
        for other in others:
            other.request(scenario["method"], scenario["path"])
        status, body, _ms = first.request(scenario["method"], scenario["path"])
    if status >= 400:
        print(f"  ! {scenario['name']}: HTTP {status} {body[:300]!r}", flush=True)
    return status, body


def rounds(
    port: int, key, scenario: dict, requests: int, *, concurrent: bool = True, width: int = 45, **line
) -> list[dict]:
    """The scenario measured from 1 client (and 2 with ``concurrent``), a line printed per round."""
    results = []
    for concurrency in [1, 2] if concurrent else [1]:
        result = measure(port, key, scenario, requests, concurrency)
        print(result_line(result, width, **line), flush=True)
        results.append(result)
    return results


def result_line(result: dict, width: int, *, show_max: bool = False, suffix: str = "") -> str:
    most = f"max={result['max']:7.1f} " if show_max else ""
    return (
        f"  {result['scenario']:<{width}} c={result['concurrency']} p50={result['p50']:7.1f} "
        f"p95={result['p95']:7.1f} {most}{'pass' if result['pass'] else 'MISS'} {result['statuses']}{suffix}"
    )


@contextlib.contextmanager
def serving(workers: int):
    """granian serving the app on a free loopback port (yielded), static files collected first."""
    from django.core.management import call_command
    from django.db import connection

    call_command("collectstatic", interactive=False, verbosity=0)  # as `kehu serve` does
    connection.close()
    port = free_port()
    server = start_server(port, workers)
    try:
        yield port
    finally:
        stop_server(server)


def finish(
    prefix: str,
    vendor: str,
    info: dict,
    requests: int,
    results: list[dict],
    *,
    out: str = "",
    note: str = "",
    **extra,
) -> Path:
    """Print the table and the load average, write the results JSON (API keys left out): its path."""
    print()
    print(print_table(results))
    print(f"\nload average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}{note}")
    path = (
        Path(out)
        if out
        else ROOT / "benchmarks" / "results" / f"{prefix}{vendor}-{datetime.now(UTC):%Y-%m-%d-%H%M}.json"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {
                "database": vendor,
                "date": datetime.now(UTC).isoformat(),
                "machine": machine(),
                "data": {k: v for k, v in info.items() if not k.endswith("_key")},
                **extra,
                "requests": requests,
                "results": results,
            },
            ensure_ascii=False,
            indent=2,
            default=str,
        )
    )
    print(f"\nwritten to {path}")
    return path


def start_server(port: int, workers: int) -> subprocess.Popen:
    from kehu.operations.management.commands._server import granian_command

    env = dict(os.environ)
    # The rate limiter still counts every request (its cost is part of the figures) but never refuses.
    env.setdefault("KEHU_API_RATE_LIMIT_PER_KEY", "1000000000")
    env.setdefault("KEHU_API_RATE_LIMIT_PER_WORKSPACE", "1000000000")
    env.pop("KEHU_DEBUG", None)
    command = granian_command("127.0.0.1", port, workers)
    server = subprocess.Popen(command, env=env, cwd=ROOT, start_new_session=True)  # noqa: S603
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server
        except OSError:
            if server.poll() is not None:
                raise SystemExit("granian exited while starting") from None
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("granian did not start listening within 60 s")


def stop_server(server: subprocess.Popen) -> None:
    import signal

    server.send_signal(signal.SIGINT)
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def print_table(results: list[dict]) -> str:
    headers = ["scenario", "actor", "c", "n", "p50", "p95", "p99", "max", "target", "result"]
    rows = [
        [
            r["scenario"],
            r["actor"],
            str(r["concurrency"]),
            str(r["n"]),
            f"{r['p50']:.1f}",
            f"{r['p95']:.1f}",
            f"{r['p99']:.1f}",
            f"{r['max']:.1f}",
            f"≤ {r['target']:.0f}",
            ("pass" if r["pass"] else "MISS")
            + ("" if all(s.startswith("2") for s in r["statuses"]) else f" {r['statuses']}"),
        ]
        for r in results
    ]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=200, help="Requests per scenario and mode.")
    parser.add_argument("--bulk-requests", type=int, default=10, help="Bulk calls of 1,000 contacts.")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--workspace", default="bench")
    parser.add_argument("--only", default="", help="Run the scenarios whose name contains this text.")
    parser.add_argument("--no-concurrent", action="store_true", help="Skip the 2-client round.")
    parser.add_argument(
        "--out", default="", help="Results file (default benchmarks/results/<db>-<date>.json)"
    )
    args = parser.parse_args()

    setup_django()
    from django.db import connection

    vendor = connection.vendor
    info = prepare(args.workspace)
    print(
        f"{vendor}: {info['contacts']:,} contacts, {info['accounts']:,} accounts; 360 account "
        f"{info['account_id']} with {info['timeline_entries']} timeline entries",
        flush=True,
    )
    results: list[dict] = []
    keys = {"admin": info["admin_key"], "sales": info["sales_key"], "web": browser(args.workspace)}
    with serving(args.workers) as port:
        for scenario in scenarios(info):
            if args.only.lower() not in scenario["name"].lower():
                continue
            key = keys[scenario["actor"]]
            warm_up(port, key, scenario, args.warmup)
            results += rounds(
                port, key, scenario, args.requests, concurrent=not args.no_concurrent, show_max=True
            )
        if not args.only or "bulk" in args.only.lower():
            results.append(bulk(port, keys["admin"], args.bulk_requests))
    finish(
        "",
        vendor,
        info,
        args.requests,
        results,
        out=args.out,
        note=" (other processes on the machine inflate latencies)",
    )


def bulk(port: int, key: str, n: int) -> dict:
    scenario = {
        "name": "bulk create 1,000 contacts",
        "actor": "admin",
        "method": "POST",
        "path": "/api/v1/contacts/bulk",
        "target": BULK_TARGET,
    }
    client = Client(port, key)
    run = int(time.time()) % 10000
    latencies, statuses = [], {}
    for i in range(n):
        status, body, ms = client.request("POST", scenario["path"], bulk_payload(run, i * 1000))
        if status >= 300:
            print(f"  ! bulk: HTTP {status} {body[:300]!r}", flush=True)
        latencies.append(ms)
        statuses[status] = statuses.get(status, 0) + 1
    result = summarize(scenario, latencies, statuses, 1)
    print(result_line(result, 45), flush=True)
    return result


def machine() -> dict:
    import platform

    cpu = ""
    with contextlib.suppress(OSError, StopIteration):
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "system": platform.platform(),
        "load_average": os.getloadavg(),
    }


if __name__ == "__main__":
    main()
