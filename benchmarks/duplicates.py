"""Duplicate detection benchmark: precision/recall on messy data with known truth, scan time, merge time.

1. Quality: ``--people`` generated people (75 % Chinese names by surname frequency, 25 % Western),
   each written once and, for ``--dup-rate`` of them, once or twice more with the mess real data
   has: the name in hanzi / pinyin / joined pinyin / swapped / "Wang W." initials / a typo, the phone
   in another format or missing, the email upper-cased, missing or another one, the company with or
   without its legal form or missing, the city as 上海 / 上海市 / Shanghai or missing. Every record is
   matched with the workspace's *default* rules through the scan's blocking; precision and recall of
   the pairs found against the true pairs are printed (targets ≥ 0.95 / ≥ 0.90).
2. Scan: ``--contacts`` contacts written to the database (``KEHU_DATABASE_URL``, migrated here) with
   their phones and emails, then ``run_scan`` timed (target: 1M contacts ≤ 5 min).
3. Merge: two contacts with 1,000 related rows each (timeline links, tasks, comments), merged and
   undone, timed (target ≤ 1 s).

    KEHU_DATABASE_URL=sqlite:////tmp/dup.sqlite3 \\
        .venv/bin/python benchmarks/duplicates.py --people 20000 --contacts 200000
"""

import argparse
import json
import os
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kehu.settings")

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"  # noqa: E501 - one string of surnames by frequency
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建国文斌宇浩凯健俊帆鑫波宁欣雪琳晨阳佳怡婷丹梅莉飞龙海峰云亮春燕志林子涵博思雨轩嘉琪"  # noqa: E501
WEST_FIRST = [
    "James",
    "Mary",
    "John",
    "Patricia",
    "Robert",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Daniel",
    "Lisa",
    "Matthew",
    "Nancy",
    "Anthony",
    "Betty",
    "Mark",
    "Sandra",
    "Paul",
    "Ashley",
    "Steven",
    "Emily",
    "Andrew",
    "Donna",
    "Kevin",
    "Michelle",
    "Brian",
    "Carol",
    "George",
    "Amanda",
]
WEST_LAST = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
]
CITIES = [
    ("上海", "Shanghai"),
    ("北京", "Beijing"),
    ("深圳", "Shenzhen"),
    ("广州", "Guangzhou"),
    ("杭州", "Hangzhou"),
    ("成都", "Chengdu"),
    ("南京", "Nanjing"),
    ("武汉", "Wuhan"),
    ("西安", "Xi'an"),
    ("苏州", "Suzhou"),
    ("天津", "Tianjin"),
    ("重庆", "Chongqing"),
    ("长沙", "Changsha"),
    ("青岛", "Qingdao"),
    ("厦门", "Xiamen"),
]
BRANDS = [
    "星辰",
    "云帆",
    "华信",
    "恒通",
    "天启",
    "博远",
    "金桥",
    "海纳",
    "瑞丰",
    "明德",
    "远航",
    "新创",
    "中科",
    "宏达",
    "鼎盛",
    "汇智",
    "锦程",
    "安泰",
    "启明",
    "润发",
]
TRADES = ["科技", "贸易", "咨询", "制造", "物流", "软件", "电子", "医药", "食品", "建设"]


def _pinyin(text: str) -> list[str]:
    from pypinyin import lazy_pinyin

    return [s.capitalize() for s in lazy_pinyin(text)]


def person(rng: random.Random, i: int) -> dict:
    city = rng.choice(CITIES)
    company = f"{rng.choice(BRANDS)}{rng.choice(BRANDS)}{rng.choice(TRADES)}{i % 997}"
    if rng.random() < 0.75:
        surname = SURNAMES[min(int(rng.expovariate(1 / 12)), len(SURNAMES) - 1)]
        given = "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
        name, chinese = surname + given, True
    else:
        name, chinese = f"{rng.choice(WEST_FIRST)} {rng.choice(WEST_LAST)}", False
    return {
        "name": name,
        "chinese": chinese,
        "company": company + "有限公司",
        "city": city,
        "email": f"u{i}.{rng.randint(10, 99)}@example{i % 50}.com",
        "phone": f"13{rng.randint(0, 9)}{i:08d}"[:11],
    }


def _typo(rng: random.Random, text: str) -> str:
    if len(text) < 4:
        return text
    i = rng.randrange(1, len(text) - 1)
    op = rng.choice(("swap", "drop", "double", "change"))
    if op == "swap":
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    if op == "drop":
        return text[:i] + text[i + 1 :]
    if op == "double":
        return text[:i] + text[i] + text[i:]
    return text[:i] + rng.choice("aeiou") + text[i + 1 :]


def messy(rng: random.Random, p: dict) -> dict:
    """One more record of the same person, written differently."""
    name = p["name"]
    if p["chinese"]:
        syllables = _pinyin(name)
        form = rng.choice(("hanzi", "pinyin", "joined", "swapped", "initials"))
        if form == "pinyin":
            name = f"{syllables[0]} {''.join(syllables[1:])}"
        elif form == "joined":
            name = "".join(syllables).lower()
        elif form == "swapped":
            name = f"{''.join(syllables[1:])} {syllables[0]}"
        elif form == "initials":
            name = f"{syllables[0]} {''.join(s[0] for s in syllables[1:])}."
    else:
        first, last = name.split()
        form = rng.choice(("same", "swapped", "typo", "initial"))
        name = {
            "same": name,
            "swapped": f"{last}, {first}",
            "typo": _typo(rng, name),
            "initial": f"{first[0]}. {last}",
        }[form]
    phone = rng.choice(
        (p["phone"], f"{p['phone'][:3]} {p['phone'][3:7]} {p['phone'][7:]}", f"+86-{p['phone']}", "", "")
    )
    email = rng.choice((p["email"], p["email"].upper(), "", f"other{rng.randint(1, 10**6)}@mail.cn"))
    company = rng.choice((p["company"], p["company"].removesuffix("有限公司"), ""))
    hanzi, latin = p["city"]
    city = rng.choice((hanzi, hanzi + "市", latin, ""))
    return {"name": name, "company": company, "city": city, "email": email, "phone": phone}


def generate(n: int, dup_rate: float, seed: int) -> tuple[list[dict], list[int]]:
    """Records and, per record, the person it belongs to (the truth)."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    records, truth = [], []
    for i in range(n):
        p = person(rng, i)
        first = {k: p[k] for k in ("name", "company", "email", "phone")} | {"city": rng.choice(p["city"])}
        records.append(first)
        truth.append(i)
        if rng.random() < dup_rate:
            for _ in range(rng.choice((1, 1, 2))):
                records.append(messy(rng, p))
                truth.append(i)
    return records, truth


def quality(n: int, dup_rate: float, seed: int) -> dict:
    from collections import defaultdict

    from kehu.duplicates.matcher import Rule, blocking_keys, build_features
    from kehu.duplicates.rules import DEFAULTS
    from kehu.duplicates.scan import compare_blocks

    rules = [
        Rule.from_dict({"name": str(a), "kind": b, "fields": c, "threshold": d})
        for a, b, c, d in DEFAULTS["customers.contact"]
    ]
    records, truth = generate(n, dup_rate, seed)
    started = time.perf_counter()
    features, blocks = {}, defaultdict(list)
    for i, values in enumerate(records):
        f = build_features(values, region="CN")
        f.id = i
        features[i] = f
        for key in blocking_keys(f):
            blocks[key].append(i)
    found, stats = compare_blocks(blocks, features, rules)
    seconds = time.perf_counter() - started
    true_pairs = set()
    members = defaultdict(list)
    for i, who in enumerate(truth):
        members[who].append(i)
    for ids in members.values():
        true_pairs |= {(a, b) for x, a in enumerate(ids) for b in ids[x + 1 :]}
    hits = sum(1 for pair in found if truth[pair[0]] == truth[pair[1]])
    precision = hits / len(found) if found else 1.0
    recall = len(true_pairs & set(found)) / len(true_pairs) if true_pairs else 1.0
    return {
        "people": n,
        "records": len(records),
        "true_pairs": len(true_pairs),
        "found_pairs": len(found),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "comparisons": stats["comparisons"],
        "skipped_blocks": stats["skipped_blocks"],
        "seconds_in_memory": round(seconds, 2),
    }


def setup_workspace():
    from django.core.management import call_command
    from django_scopes import scope

    from kehu.users.models import User
    from kehu.workspaces.services import actor_for, create_workspace

    call_command("migrate", verbosity=0)
    stamp = int(time.time())
    user = User.objects.create_user(
        email=f"bench{stamp}@dup.test", password="bench-password-123", name="Bench"
    )
    workspace = create_workspace(f"Duplicates {stamp}", user, slug=f"dup-{stamp}")
    with scope(workspace=workspace):
        return workspace, actor_for(user, workspace)


def load_contacts(workspace, actor, count: int, seed: int) -> float:
    """Contacts and their phone/email rows written straight to the tables, column values as the
    ORM would write them (one ``executemany`` per chunk: ``bulk_create`` built a model instance per
    row and took 15 min for 1M)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from kehu.core.normalize import normalize_phone
    from kehu.customers.models import Contact, ContactPoint
    from kehu.customers.normalize import pinyin_keys

    records, _truth = generate(int(count / 1.2), 0.2, seed)
    records = records[:count]
    started = time.perf_counter()
    now = timezone.now()
    contacts = _RawInserter(Contact, workspace=workspace, owner=actor.user, created_at=now, updated_at=now)
    points = _RawInserter(ContactPoint, workspace=workspace, is_primary=True, created_at=now, updated_at=now)
    for start in range(0, len(records), 5000):
        chunk = records[start : start + 5000]
        with transaction.atomic():
            rows, point_rows = [], []
            for r in chunk:
                full, initials = pinyin_keys(r["name"])
                phone = ""
                if r["phone"]:
                    try:
                        phone = normalize_phone(r["phone"], "CN")
                    except ValueError:
                        phone = ""
                pk = contacts.next_id()
                email = r["email"].lower()
                rows.append(
                    {
                        "id": pk,
                        "name": r["name"],
                        "name_pinyin": full,
                        "name_initials": initials,
                        "email": email,
                    }
                    | {"phone": phone}
                )
                for kind, value in (("email", email), ("phone", phone)):
                    if value:
                        point_rows.append(
                            {"id": points.next_id(), "contact_id": pk, "kind": kind, "value": value}
                        )
            contacts.insert(rows)
            points.insert(point_rows)
    if connection.vendor == "postgresql":
        from django.core.management.color import no_style

        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), [Contact, ContactPoint]):
                cursor.execute(sql)
    return time.perf_counter() - started


class _RawInserter:
    """INSERTs of one model's rows: every column as a template instance has it (its defaults and
    ``fixed``) except the values a row gives (attribute name → value); ids taken from max + 1."""

    def __init__(self, model, **fixed):
        from django.db import connection

        self.connection = connection
        self.fields = list(model._meta.concrete_fields)
        template = model(**fixed)
        self.base = {
            f.attname: f.get_db_prep_save(getattr(template, f.attname), connection) for f in self.fields
        }
        quote = connection.ops.quote_name
        table = quote(model._meta.db_table)
        columns = ", ".join(quote(f.column) for f in self.fields)
        self.sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(self.fields))})"  # noqa: S608
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608 - a model's table
            self.last = cursor.fetchone()[0]

    def next_id(self) -> int:
        self.last += 1
        return self.last

    def insert(self, rows: list[dict]) -> None:
        names = [f.attname for f in self.fields]
        with self.connection.cursor() as cursor:
            cursor.executemany(self.sql, [[row.get(n, self.base[n]) for n in names] for row in rows])


def scan(workspace, actor) -> dict:
    from kehu.duplicates.models import ScanJob
    from kehu.duplicates.scan import run_scan

    job = ScanJob.objects.create(workspace=workspace, object_type="customers.contact", created_by=actor.user)
    started, cpu = time.perf_counter(), time.process_time()
    job = run_scan(workspace, job)
    return {
        "contacts": job.total,
        "seconds": round(time.perf_counter() - started, 2),
        # the machine is shared: the CPU time the scan got says what it costs, the wall time
        # how long it took under that load
        "cpu_seconds": round(time.process_time() - cpu, 2),
        "pairs": job.found,
        **job.stats,
    }


def merge_timing(workspace, actor) -> dict:
    from django.utils import timezone

    from kehu.activities.models import Activity, ActivityLink, Comment, Task
    from kehu.customers.services import create_contact
    from kehu.duplicates.merge import merge, undo

    a = create_contact(actor, name="合并 甲", email="merge-a@example.com")
    b = create_contact(actor, name="合并 乙", email="merge-b@example.com")
    now = timezone.now()
    for c in (a, b):
        activities = Activity.objects.bulk_create(
            [
                Activity(workspace=workspace, kind="note", subject=f"n{i}", occurred_at=now, owner=actor.user)
                for i in range(400)
            ]
        )
        ActivityLink.objects.bulk_create(
            [
                ActivityLink(
                    workspace=workspace,
                    activity=x,
                    object_type="customers.contact",
                    object_id=c.pk,
                    occurred_at=now,
                    kind="note",
                )
                for x in activities
            ]
        )
        Task.objects.bulk_create(
            [
                Task(
                    workspace=workspace,
                    title=f"t{i}",
                    record_type="customers.contact",
                    record_id=c.pk,
                    assignee=actor.user,
                    owner=actor.user,
                )
                for i in range(300)
            ]
        )
        Comment.objects.bulk_create(
            [
                Comment(
                    workspace=workspace,
                    record_type="customers.contact",
                    record_id=c.pk,
                    author=actor.user,
                    body="x",
                )
                for _ in range(300)
            ]
        )
    started = time.perf_counter()
    done = merge(actor, "customers.contact", a.pk, [b.pk])
    merge_s = time.perf_counter() - started
    started = time.perf_counter()
    undo(actor, done)
    undo_s = time.perf_counter() - started
    return {
        "related_rows_each": 1000,
        "moved": done.moved_count,
        "merge_seconds": round(merge_s, 3),
        "undo_seconds": round(undo_s, 3),
    }


def _uptime() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _bench_name(contacts: int, seed: int) -> str:
    return f"Duplicates bench: {contacts} contacts, seed {seed}"


def reused(contacts: int, seed: int):
    """The workspace (and its owner's actor) of an earlier run that loaded the same contacts."""
    from django.core.management import call_command
    from django_scopes import scopes_disabled

    from kehu.workspaces.models import Membership, Workspace
    from kehu.workspaces.services import actor_for

    call_command("migrate", verbosity=0)
    with scopes_disabled():
        for workspace in Workspace.objects.filter(slug__startswith="dup-").order_by("-pk"):
            if workspace.name == _bench_name(contacts, seed):
                user = Membership.objects.filter(workspace=workspace).order_by("pk").first().user
                return workspace, actor_for(user, workspace)
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=20000)
    parser.add_argument("--dup-rate", type=float, default=0.3)
    parser.add_argument("--contacts", type=int, default=100000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="scan the contacts an earlier run (same --contacts and --seed) left in the database "
        "instead of loading them again (the load of 1M takes ~15 min)",
    )
    parser.add_argument("--load-only", action="store_true", help="load the contacts, then stop")
    parser.add_argument("--skip-quality", action="store_true")
    args = parser.parse_args()
    import django

    django.setup()
    from django.db import connection
    from django_scopes import scope

    result = {"date": datetime.now(UTC).isoformat(timespec="seconds"), "database": connection.vendor}
    result["uptime_before"] = _uptime()
    if not args.skip_quality and not args.load_only:
        result["quality"] = quality(args.people, args.dup_rate, args.seed)
        print("quality", json.dumps(result["quality"]))
    found = reused(args.contacts, args.seed) if args.reuse else None
    workspace, actor = found or setup_workspace()
    with scope(workspace=workspace):
        if found:
            result["load_seconds"] = None
            result["reused_workspace"] = workspace.slug
            print("reusing", workspace.slug)
        else:
            result["load_seconds"] = round(load_contacts(workspace, actor, args.contacts, args.seed), 1)
            workspace.name = _bench_name(args.contacts, args.seed)  # what --reuse looks for
            workspace.save(update_fields=["name"])
            print("loaded", args.contacts, "contacts in", result["load_seconds"], "s")
        if args.load_only:
            return
        print("uptime", _uptime())
        result["scan"] = scan(workspace, actor)
        print("scan", json.dumps(result["scan"]))
        result["merge"] = merge_timing(workspace, actor)
        print("merge", json.dumps(result["merge"]))
    result["uptime_after"] = _uptime()
    print("uptime", result["uptime_after"])
    out = (
        ROOT
        / "benchmarks"
        / "results"
        / f"duplicates-{connection.vendor}-{datetime.now(UTC):%Y%m%d-%H%M}.json"
    )
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print("written", out.relative_to(ROOT))


if __name__ == "__main__":
    main()
