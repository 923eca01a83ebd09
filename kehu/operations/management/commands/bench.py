# ruff: noqa: S608, S311 — SQL here is built from model metadata and integers (no user text); the seeded
# generator must be reproducible, not cryptographic.
"""``kehu bench generate|run``: the benchmark data set (deterministic, seeded) and the HTTP benchmark.

``generate`` fills a workspace with accounts, contacts (typed phones and emails, account relations),
custom field values, activities on the timeline and orders — written straight to the tables in big
batches (COPY on PostgreSQL, executemany on SQLite), because going through the services would
take hours at a million contacts. Names, pinyin and E.164 numbers are computed with the same
functions the services use (``kehu.customers.normalize``). Indexes and foreign keys of the big
tables are dropped for the load and re-created afterwards (also when the load fails).

``run`` starts the benchmark runner ``benchmarks/run.py`` (see ``benchmarks/README.md``).
"""

import argparse
import itertools
import json
import random
import runpy
import sys
import time
import unicodedata
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.apps import apps
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django_scopes import scope, scopes_disabled

from kehu.core.normalize import normalize_email, normalize_phone
from kehu.customers.models import Account, AccountContact, Contact, ContactPoint, Tag, TaggedRecord
from kehu.customers.normalize import pinyin_keys
from kehu.users.models import User
from kehu.workspaces import services as workspace_services
from kehu.workspaces.access import Actor
from kehu.workspaces.models import Membership, Workspace

BENCH_PASSWORD = "bench-password-123"  # throwaway benchmark users on a throwaway database
SALES_USERS = 20
# Fixed instead of "now", so two runs with one seed write the same rows.
START = datetime(2023, 1, 1, tzinfo=UTC)
END = datetime(2026, 11, 1, tzinfo=UTC)

# --- realistic names -------------------------------------------------------------------------------

# The most common Chinese surnames with their approximate share of the population (percent).
SURNAMES = [
    ("王", 7.25), ("李", 7.19), ("张", 6.83), ("刘", 5.38), ("陈", 4.61), ("杨", 3.08), ("黄", 2.2),
    ("赵", 2.29), ("吴", 2.05), ("周", 1.99), ("徐", 1.59), ("孙", 1.56), ("马", 1.45), ("朱", 1.26),
    ("胡", 1.21), ("郭", 1.18), ("何", 1.17), ("高", 1.0), ("林", 1.0), ("罗", 0.87), ("郑", 0.84),
    ("梁", 0.82), ("谢", 0.76), ("宋", 0.69), ("唐", 0.68), ("许", 0.66), ("韩", 0.65), ("冯", 0.64),
    ("邓", 0.62), ("曹", 0.61), ("彭", 0.58), ("曾", 0.56), ("肖", 0.55), ("田", 0.53), ("董", 0.52),
    ("袁", 0.51), ("潘", 0.5), ("于", 0.49), ("蒋", 0.48), ("蔡", 0.47), ("余", 0.46), ("杜", 0.45),
    ("叶", 0.44), ("程", 0.43), ("苏", 0.42), ("魏", 0.41), ("吕", 0.4), ("丁", 0.39), ("任", 0.38),
    ("沈", 0.37), ("姚", 0.36), ("卢", 0.35), ("姜", 0.34), ("崔", 0.33), ("钟", 0.32), ("谭", 0.31),
    ("陆", 0.3), ("汪", 0.29), ("范", 0.28), ("金", 0.27), ("石", 0.26), ("廖", 0.25), ("贾", 0.24),
    ("夏", 0.23), ("韦", 0.22), ("付", 0.21), ("方", 0.2), ("白", 0.19), ("邹", 0.18), ("孟", 0.17),
    ("熊", 0.16), ("秦", 0.15), ("邱", 0.14), ("江", 0.13), ("尹", 0.12), ("薛", 0.11), ("欧阳", 0.08),
    ("司马", 0.02), ("诸葛", 0.01),
]
# Given names, the most frequent first (伟, 芳, 娜 … top the national name statistics).
GIVEN = [
    ("伟", 9), ("芳", 8), ("娜", 7), ("秀英", 7), ("敏", 7), ("静", 7), ("丽", 6), ("强", 6), ("磊", 6),
    ("军", 6), ("洋", 5), ("勇", 5), ("艳", 5), ("杰", 5), ("娟", 5), ("涛", 5), ("明", 5), ("超", 5),
    ("秀兰", 4), ("霞", 4), ("平", 4), ("刚", 4), ("桂英", 4), ("华", 3), ("建华", 3), ("建国", 3),
    ("建军", 3), ("志强", 3), ("玉兰", 3), ("桂兰", 3), ("海燕", 3), ("晓东", 3), ("晓明", 3),
    ("丹", 3), ("萍", 3), ("鹏", 3), ("辉", 3), ("玲", 3), ("婷", 3), ("雪", 3), ("浩", 3), ("宇", 3),
    ("子涵", 3), ("欣怡", 3), ("梓轩", 2), ("雨桐", 2), ("浩然", 2), ("思远", 2), ("嘉怡", 2), ("俊杰", 2),
    ("文博", 2), ("一鸣", 2), ("佳琪", 2), ("梦瑶", 2), ("志明", 2), ("国庆", 2), ("红梅", 2), ("春燕", 2),
    ("亮", 2), ("斌", 2), ("波", 2), ("凯", 2), ("琳", 2), ("倩", 2), ("颖", 2), ("慧", 2), ("晨", 2),
    ("昊天", 1), ("睿", 1), ("泽宇", 1), ("语嫣", 1), ("若曦", 1), ("天佑", 1), ("嘉豪", 1), ("诗涵", 1),
]
FIRST_NAMES = [
    "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "William",
    "Elizabeth", "David", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
    "Charles", "Karen", "Daniel", "Nancy", "Matthew", "Lisa", "Anthony", "Betty", "Mark", "Emily",
    "Steven", "Anna", "Paul", "Laura", "Andrew", "Olivia", "Kevin", "Emma", "Brian", "Sophie", "Lukas",
    "Hannah", "Pierre", "Camille", "Marco", "Giulia", "Hiroshi", "Yuki", "Min-jun", "Seo-yeon",
]
LAST_NAMES = [
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Wilson", "Anderson", "Taylor", "Thomas", "Moore", "Jackson",
    "Martin", "Lee", "Thompson", "White", "Harris", "Clark", "Lewis", "Walker", "Hall", "Young",
    "King", "Wright", "Scott", "Green", "Baker", "Adams", "Nelson", "Müller", "Schmidt", "Dubois",
    "Rossi", "Tanaka", "Kim", "Nguyen", "O'Brien", "Fischer", "Novak", "Jensen",
]
BRAND_PARTS = [
    "华", "中", "恒", "信", "创", "新", "元", "科", "鑫", "瑞", "达", "盛", "泰", "隆", "博", "远", "海",
    "天", "联", "通", "金", "宏", "兴", "安", "嘉", "德", "永", "丰", "明", "光", "智", "云", "汇", "源",
]
INDUSTRY_WORDS = [
    ("科技", "Technology"), ("贸易", "Trading"), ("电子", "Electronics"), ("物流", "Logistics"),
    ("医药", "Pharma"), ("食品", "Foods"), ("机械", "Machinery"), ("咨询", "Consulting"),
    ("软件", "Software"), ("建设", "Construction"), ("新能源", "New Energy"), ("文化传媒", "Media"),
]
EN_BRANDS = [
    "Northwind", "Contoso", "Fabrikam", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Acme",
    "Vandelay", "Hooli", "Pied Piper", "Soylent", "Tyrell", "Cyberdyne", "Aperture", "Blue Sun",
]
LEGAL = [("有限公司", "Co., Ltd."), ("股份有限公司", "Inc."), ("集团", "Group")]
CITIES = [  # (city, province, weight): the big cities hold most customers
    ("上海", "上海", 12), ("北京", "北京", 11), ("深圳", "广东", 9), ("广州", "广东", 8), ("杭州", "浙江", 7),
    ("成都", "四川", 6), ("南京", "江苏", 5), ("武汉", "湖北", 5), ("苏州", "江苏", 5), ("西安", "陕西", 4),
    ("重庆", "重庆", 4), ("天津", "天津", 4), ("长沙", "湖南", 3), ("郑州", "河南", 3), ("青岛", "山东", 3),
    ("厦门", "福建", 2), ("宁波", "浙江", 2), ("合肥", "安徽", 2), ("昆明", "云南", 2), ("大连", "辽宁", 2),
]
INDUSTRIES = ["制造业", "零售", "金融", "互联网", "医疗", "教育", "物流", "房地产", "能源", "餐饮"]
SOURCES = ["展会", "官网", "转介绍", "电话营销", "合作伙伴", "广告", "微信"]
JOB_TITLES = ["总经理", "采购经理", "技术总监", "销售经理", "财务总监", "工程师", "行政主管", "CEO", "CTO",
              "Purchasing Manager", "Engineer", "Sales Director"]
DEPARTMENTS = ["采购部", "技术部", "财务部", "销售部", "行政部", "IT", "Operations"]
EMAIL_DOMAINS = ["example.com", "example.cn", "example.net", "mail.example.org"]
MOBILE_PREFIXES = ["138", "139", "135", "136", "137", "150", "151", "158", "159", "186", "187", "188",
                   "131", "132", "155", "156", "185", "133", "153", "180", "189", "177", "199"]
US_AREAS = ["212", "415", "646", "312", "617", "206", "303", "512"]
ACTIVITY_SUBJECTS = [
    ("call", "电话回访"), ("call", "Follow-up call"), ("email", "发送报价单"), ("email", "Quote sent"),
    ("meeting", "需求沟通会"), ("meeting", "Quarterly review"), ("visit", "上门拜访"),
    ("note", "客户反馈记录"),
    ("message", "微信沟通"), ("call", "续约确认"), ("email", "合同草案"), ("visit", "Site visit"),
]
CUSTOM_DEFINITIONS = {
    "customers.contact": [
        ("level", "客户等级", "single_select",
         {"choices": [{"value": v, "label": v.upper()} for v in ("vip", "a", "b", "c")]}),
        ("wechat_group", "微信群", "text", {}),
    ],
    "customers.account": [
        ("tier", "客户分级", "single_select",
         {"choices": [{"value": v, "label": v} for v in ("strategic", "key", "normal")]}),
        ("employees", "员工人数", "number", {}),
    ],
}


class Picker:
    """Weighted choice by one uniform draw (bisect over cumulative weights): fast and seed-stable."""

    def __init__(self, items: list[tuple]):
        self.values = [item[0] if len(item) == 2 else item[:-1] for item in items]
        self.cumulative = list(itertools.accumulate(item[-1] for item in items))
        self.total = self.cumulative[-1]

    def pick(self, rng: random.Random):
        from bisect import bisect_right

        return self.values[bisect_right(self.cumulative, rng.random() * self.total)]


class Names:
    """Person and company names with pinyin computed once per distinct name (as the services do)."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.surnames = Picker(SURNAMES)
        self.given = Picker(GIVEN)
        self.cities = Picker([(c, p, w) for c, p, w in CITIES])
        self._pinyin: dict[str, tuple[str, str]] = {}

    def pinyin(self, name: str) -> tuple[str, str]:
        if name not in self._pinyin:
            self._pinyin[name] = pinyin_keys(name)
        return self._pinyin[name]

    def person(self) -> tuple[str, str, bool]:
        """(name, Latin name, is_chinese): 75 % Chinese names, 25 % Western ones."""
        rng = self.rng
        if rng.random() < 0.75:
            return self.surnames.pick(rng) + self.given.pick(rng), "", True
        return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}", "", False

    def company(self, i: int) -> tuple[str, str, str, str]:
        """(name, Latin name, pinyin, initials). Company names are nearly all distinct, so their pinyin
        is put together from the pinyin of their parts (city, brand, trade, legal form)."""
        rng = self.rng
        if rng.random() < 0.8:
            city, _province = self.cities.pick(rng)
            parts = [city if rng.random() < 0.6 else "", "".join(rng.sample(BRAND_PARTS, 2))]
            word, word_en = rng.choice(INDUSTRY_WORDS)
            legal, legal_en = rng.choice(LEGAL)
            parts += [word, legal]
            keys = [self.pinyin(part) for part in parts if part]
            name = "".join(parts)
            return name, f"{word_en} {legal_en}", "".join(k[0] for k in keys), "".join(k[1] for k in keys)
        brand = rng.choice(EN_BRANDS)
        _word, word_en = rng.choice(INDUSTRY_WORDS)
        name = f"{brand} {word_en} {i % 997}"
        return (name, "", *pinyin_keys(name))


def cn_mobile(i: int, salt: int) -> tuple[str, str]:
    """(national display, E.164) of a unique Chinese mobile number for row ``i``."""
    prefix = MOBILE_PREFIXES[(i * 7 + salt) % len(MOBILE_PREFIXES)]
    rest = f"{(i * 7919 + salt * 104729) % 100_000_000:08d}"
    national = f"{prefix} {rest[:4]} {rest[4:]}"
    return national, f"+86{prefix}{rest}"


def us_phone(i: int, salt: int) -> tuple[str, str]:
    area = US_AREAS[(i + salt) % len(US_AREAS)]
    exchange = 200 + (i * 31 + salt) % 700
    line = (i * 7919 + salt) % 10000
    return f"+1 {area}-{exchange}-{line:04d}", f"+1{area}{exchange}{line:04d}"


# --- writing rows fast -----------------------------------------------------------------------------


class TableWriter:
    """Writes rows (dicts by column name) to a model's table; missing columns get the field default."""

    def __init__(self, model, *, batch: int = 20_000, ids: bool = False):
        self.model = model
        self.table = model._meta.db_table
        # Rows give their ids when other rows point at them; else the database numbers them.
        self.fields = [f for f in model._meta.concrete_fields if ids or not f.primary_key]
        self.columns = [f.column for f in self.fields]
        self.batch = batch
        self.count = 0
        self.pg = connection.vendor == "postgresql"
        encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
        pg = self.pg

        def sqlite_datetime(value):
            # Django stores SQLite datetimes as naive UTC text.
            return None if value is None else value.astimezone(UTC).replace(tzinfo=None).isoformat(" ")

        self._spec = []  # (column, default, converter or None), in column order
        for f in self.fields:
            default = f.get_default() if f.has_default() else (None if f.null else "")
            kind = f.get_internal_type()
            converter = encode if kind == "JSONField" else None
            if kind == "DateTimeField" and not pg:
                converter = sqlite_datetime
            self._spec.append((f.column, default, converter))
        self._rows: list[tuple] = []

    def add(self, row: dict) -> None:
        get = row.get
        self._rows.append(
            tuple(
                get(c, d) if conv is None else conv(get(c, d))
                for c, d, conv in self._spec
            )
        )
        if len(self._rows) >= self.batch:
            self.flush()

    def flush(self) -> None:
        if not self._rows:
            return
        cols = ", ".join(connection.ops.quote_name(c) for c in self.columns)
        with connection.cursor() as cursor:
            if self.pg:
                raw = cursor.cursor  # psycopg's own cursor, for COPY
                with raw.copy(f"COPY {self.table} ({cols}) FROM STDIN") as copy:
                    for row in self._rows:
                        copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * len(self.columns))
                cursor.executemany(f"INSERT INTO {self.table} ({cols}) VALUES ({marks})", self._rows)
        self.count += len(self._rows)
        self._rows = []


def next_id(model) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {model._meta.db_table}")
        return cursor.fetchone()[0] + 1


def reset_sequences(models) -> None:
    if connection.vendor != "postgresql":
        return  # SQLite continues after MAX(rowid) by itself
    with connection.cursor() as cursor:
        for model in models:
            table = model._meta.db_table
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
            )


@contextmanager
def indexes_dropped(models, log):
    """Drop the secondary indexes (and, on PostgreSQL, FK and unique constraints) of ``models`` for
    the load; re-create them afterwards, whatever happens in between."""
    tables = [m._meta.db_table for m in models]
    saved_indexes: list[str] = []
    saved_constraints: list[tuple[str, str, str]] = []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Fire deferred FK checks of earlier writes now: ALTER TABLE refuses pending trigger events.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(
                """SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
                   WHERE conrelid::regclass::text = ANY(%s) AND contype IN ('f', 'u')""",
                [tables],
            )
            saved_constraints = cursor.fetchall()
            for table, name, _definition in saved_constraints:
                cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            cursor.execute(
                """SELECT i.indexname, i.indexdef FROM pg_indexes i
                   WHERE i.tablename = ANY(%s) AND NOT EXISTS (
                       SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)""",
                [tables],
            )
            rows = cursor.fetchall()
            saved_indexes = [definition for _name, definition in rows]
            for name, _definition in rows:
                cursor.execute(f'DROP INDEX "{name}"')
        else:
            marks = ", ".join(["%s"] * len(tables))
            cursor.execute(
                f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                f"AND tbl_name IN ({marks})",
                tables,
            )
            rows = cursor.fetchall()
            saved_indexes = [sql for _name, sql in rows]
            for name, _sql in rows:
                cursor.execute(f'DROP INDEX "{name}"')
    try:
        yield
    finally:
        started = time.monotonic()
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SET maintenance_work_mem = '512MB'")
            for definition in saved_indexes:
                cursor.execute(definition)
            for table, name, definition in saved_constraints:
                cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        log(f"  re-created {len(saved_indexes)} indexes and {len(saved_constraints)} constraints "
            f"in {time.monotonic() - started:.1f} s")


# --- the command -----------------------------------------------------------------------------------


class Command(BaseCommand):
    help = "Benchmark data (generate) and the HTTP benchmark (run)."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        gen = actions.add_parser("generate", help="Fill a workspace with deterministic benchmark data.")
        gen.add_argument("--contacts", type=int, default=1_000_000)
        gen.add_argument("--accounts", type=int, default=None, help="Default: contacts / 5.")
        gen.add_argument("--activities-per-contact", type=int, default=10)
        gen.add_argument("--orders-per-account", type=int, default=2)
        gen.add_argument("--scale", type=float, default=1.0,
                         help="Multiply every count (0.02 = a CI-sized run of 20k contacts).")
        gen.add_argument("--seed", type=int, default=42)
        gen.add_argument("--workspace", default="bench")
        run = actions.add_parser("run", help="Run benchmarks/run.py (arguments after -- go to it).")
        run.add_argument("runner_args", nargs=argparse.REMAINDER, help="Options of benchmarks/run.py.")

    def handle(self, *args, **options):
        if options["action"] == "run":
            script = Path(__file__).resolve().parents[4] / "benchmarks" / "run.py"
            if not script.exists():
                raise CommandError(f"{script} not found: run from a source checkout.")
            sys.argv = [str(script), *[a for a in options["runner_args"] if a != "--"]]
            runpy.run_path(str(script), run_name="__main__")
            return
        self.generate(options)

    def log(self, text: str) -> None:
        self.stdout.write(text)
        self.stdout.flush()

    # -- setup --

    def workspace(self, slug: str) -> tuple[Workspace, Actor, list[User]]:
        if Workspace.objects.filter(slug=slug).exists():
            raise CommandError(f"Workspace {slug} exists already: generate into a fresh database.")
        hashed = make_password(BENCH_PASSWORD)  # once: hashing is slow by design

        def user(email: str, name: str) -> User:
            return User.objects.create(email=email, password=hashed, name=name)

        owner = user(f"owner@{slug}.test", "Bench Owner")
        workspace = workspace_services.create_workspace(
            "Benchmark 基准", owner, slug=slug, default_region="CN", base_currency="CNY"
        )
        with scope(workspace=workspace), scopes_disabled():
            membership = Membership.objects.select_related("user", "role", "workspace").get(
                workspace=workspace, user=owner
            )
        actor = Actor(membership)
        sales = []
        with scope(workspace=workspace):
            admin = user(f"admin@{slug}.test", "管理员")
            workspace_services.add_member(actor, admin, "admin")
            for i in range(1, SALES_USERS + 1):
                member = user(f"sales{i:02d}@{slug}.test", f"销售{i:02d}")
                workspace_services.add_member(actor, member, "sales")
                sales.append(member)
        return workspace, actor, sales

    def custom_fields(self, workspace: Workspace, owner: User) -> bool:
        if not apps.is_installed("kehu.customfields"):
            self.log("  custom fields app not installed: values go into `custom` as plain JSON")
            return False
        from kehu.customfields.models import FieldDefinition

        with scope(workspace=workspace):
            for object_type, fields in CUSTOM_DEFINITIONS.items():
                for position, (key, label, field_type, options) in enumerate(fields):
                    FieldDefinition.objects.create(
                        workspace=workspace, object_type=object_type, key=key, label=label,
                        field_type=field_type, options=options, position=position, created_by=owner,
                    )
        return True

    # -- generate --

    def generate(self, options):
        scale = options["scale"]
        n_contacts = max(1, int(options["contacts"] * scale))
        n_accounts = max(1, int((options["accounts"] or options["contacts"] // 5) * scale))
        per_contact = options["activities_per_contact"]
        per_account = options["orders_per_account"]
        rng = random.Random(options["seed"])
        names = Names(rng)
        self.log(f"Generating into {connection.vendor}: {n_accounts:,} accounts, {n_contacts:,} contacts, "
                 f"{per_contact} activities per contact, {per_account} orders per account (seed "
                 f"{options['seed']}).")
        overall = time.monotonic()
        with transaction.atomic():
            workspace, actor, sales = self.workspace(options["workspace"])
            self.custom_fields(workspace, actor.user)
        ws = workspace.pk
        owner_ids = [u.pk for u in sales]
        if connection.vendor == "sqlite" and not connection.in_atomic_block:
            with connection.cursor() as cursor:
                # This connection only: the load is redone from scratch if the machine fails.
                cursor.execute("PRAGMA synchronous = OFF")
                cursor.execute("PRAGMA cache_size = -1000000")
                cursor.execute("PRAGMA foreign_keys = OFF")
        stamp = {"workspace_id": ws, "created_by_id": actor.user.pk, "updated_by_id": actor.user.pk}
        span = (END - START).total_seconds()

        def created(i: int, n: int) -> datetime:
            # Creation order follows the ids, as in a real database; some jitter within the day.
            return START + timedelta(seconds=span * i / n + rng.random() * 3600)

        # Key accounts (1 %) gather many contacts, so their timelines hold more than 500 entries.
        n_key = max(1, n_accounts // 100)
        key_share = min(0.5, n_key * 60 / n_contacts)

        core_models = [Account, Contact, ContactPoint, AccountContact, TaggedRecord]
        a0, c0 = next_id(Account), next_id(Contact)
        with scope(workspace=workspace):
            tags = [Tag.objects.create(workspace=workspace, name=n, created_by=actor.user)
                    for n in ("VIP", "重点客户", "展会", "newsletter")]
        with indexes_dropped(core_models, self.log), transaction.atomic():
            started = time.monotonic()
            accounts = TableWriter(Account, ids=True)
            points = TableWriter(ContactPoint, batch=40_000)
            relations = TableWriter(AccountContact, batch=40_000)
            tagged = TableWriter(TaggedRecord)
            account_city = {}
            statuses, sizes = list(Account.Status.values), list(Account.Size.values)
            roles = list(AccountContact.Role.values)
            for i in range(n_accounts):
                name, name_en, pinyin, initials = names.company(i)
                city, province = names.cities.pick(rng)
                at = created(i, n_accounts)
                national, e164 = cn_mobile(i, 7)
                email = f"info{i}@{rng.choice(EMAIL_DOMAINS)}"
                pk = a0 + i
                account_city[pk] = city
                accounts.add({
                    **stamp, "id": pk, "created_at": at, "updated_at": at, "owner_id": rng.choice(owner_ids),
                    "name": name, "name_en": name_en, "name_pinyin": pinyin, "name_initials": initials,
                    "kind": "company" if rng.random() < 0.9 else "individual",
                    "industry": rng.choice(INDUSTRIES), "size": rng.choice(sizes),
                    "source": rng.choice(SOURCES),
                    "status": rng.choices(statuses, weights=(2, 7, 1))[0],
                    "phone": e164, "email": email, "country": "CN", "province": province, "city": city,
                    "street": f"{rng.choice(BRAND_PARTS)}{rng.choice(BRAND_PARTS)}路{rng.randint(1, 999)}号",
                    "postcode": f"{rng.randint(100000, 899999)}",
                    "custom": {
                        "tier": "strategic" if i < n_key else rng.choices(["key", "normal"], (1, 4))[0],
                        "employees": rng.choice([5, 12, 40, 120, 300, 800, 2500]),
                    },
                })
                if i % 97 == 0:
                    assert normalize_phone(national, "CN") == e164, (national, e164)
                for kind, value in (("phone", e164), ("email", email)):
                    points.add({**stamp, "account_id": pk, "contact_id": None, "kind": kind, "label": "work",
                                "value": value, "is_primary": True, "created_at": at, "updated_at": at})
            accounts.flush()
            self.log(f"  accounts: {accounts.count:,} rows in {time.monotonic() - started:.1f} s "
                     f"({accounts.count / (time.monotonic() - started):,.0f} rows/s)")

            started = time.monotonic()
            contacts = TableWriter(Contact, ids=True)
            levels = Picker([("vip", 5), ("a", 20), ("b", 40), ("c", 35)])
            for i in range(n_contacts):
                name, name_en, chinese = names.person()
                pinyin, initials = names.pinyin(name)
                pk = c0 + i
                at = created(i, n_contacts)
                if rng.random() < key_share:
                    account = a0 + rng.randrange(n_key)
                else:
                    account = a0 + rng.randrange(n_accounts)
                if chinese:
                    national, e164 = cn_mobile(i, 3)
                    local = f"{pinyin}{i}"
                else:
                    national, e164 = us_phone(i, 3)
                    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
                    local = f"{ascii_name.lower().replace(' ', '.').replace(chr(39), '')}{i}"
                email = f"{local}@{EMAIL_DOMAINS[i % len(EMAIL_DOMAINS)]}".lower()
                if i % 97 == 0:  # the services' normalisation, checked on a sample (it is slow)
                    assert normalize_phone(national, "CN") == e164, (national, e164)
                    assert normalize_email(email) == email, email
                custom = {"level": levels.pick(rng)}
                if rng.random() < 0.3:
                    custom["wechat_group"] = f"{account_city[account]}客户群{rng.randint(1, 50)}"
                contacts.add({
                    **stamp, "id": pk, "created_at": at, "updated_at": at, "owner_id": rng.choice(owner_ids),
                    "name": name, "name_en": name_en, "name_pinyin": pinyin, "name_initials": initials,
                    "account_id": account, "job_title": rng.choice(JOB_TITLES),
                    "department": rng.choice(DEPARTMENTS), "email": email, "phone": e164,
                    "preferred_channel": rng.choice(["", "phone", "wechat", "email"]),
                    "preferred_language": "zh-hans" if chinese else "en",
                    "social": {"wechat": f"wx_{pinyin[:12]}{i}"} if chinese and rng.random() < 0.5 else {},
                    "consent_email": rng.random() < 0.4, "consent_sms": rng.random() < 0.2,
                    "custom": custom,
                })
                points.add({**stamp, "account_id": None, "contact_id": pk, "kind": "phone", "label": "mobile",
                            "value": e164, "is_primary": True, "created_at": at, "updated_at": at})
                points.add({**stamp, "account_id": None, "contact_id": pk, "kind": "email", "label": "work",
                            "value": email, "is_primary": True, "created_at": at, "updated_at": at})
                if rng.random() < 0.2:
                    _national, second = cn_mobile(i, 11)
                    points.add({**stamp, "account_id": None, "contact_id": pk, "kind": "phone",
                                "label": "work", "value": second, "is_primary": False,
                                "created_at": at, "updated_at": at})
                relations.add({**stamp, "account_id": account, "contact_id": pk, "is_primary": True,
                               "role": rng.choice(roles), "created_at": at,
                               "updated_at": at})
                if rng.random() < 0.05:
                    other = a0 + rng.randrange(n_accounts)
                    if other != account:
                        relations.add({**stamp, "account_id": other, "contact_id": pk, "is_primary": False,
                                       "role": "influencer", "created_at": at, "updated_at": at})
                if rng.random() < 0.05:
                    tagged.add({**stamp, "tag_id": rng.choice(tags).pk, "object_type": Contact.object_type,
                                "object_id": pk, "created_at": at, "updated_at": at})
            for writer in (contacts, points, relations, tagged):
                writer.flush()
            elapsed = time.monotonic() - started
            total = contacts.count + points.count + relations.count + tagged.count
            self.log(f"  contacts: {contacts.count:,} (+ {points.count:,} phones/emails, {relations.count:,} "
                     f"relations, {tagged.count:,} tags) in {elapsed:.1f} s ({total / elapsed:,.0f} rows/s)")
        reset_sequences(core_models)
        if per_contact:
            self.activities(ws, c0, n_contacts, per_contact, owner_ids, actor.user.pk)
        if per_account:
            self.orders(ws, a0, n_accounts, per_account, owner_ids, actor.user.pk, rng)
        self.analyze()
        self.log(f"Done in {time.monotonic() - overall:.0f} s. Users: owner@, admin@, sales01@ … "
                 f"sales{SALES_USERS:02d}@{options['workspace']}.test (password {BENCH_PASSWORD}).")

    def activities(self, ws, c0, n_contacts, per_contact, owner_ids, creator) -> None:
        """Activities and their timeline links, generated by the database itself (INSERT … SELECT):
        per contact ``per_contact`` entries, deterministic from the ids."""
        if not apps.is_installed("kehu.activities"):
            self.log("  activities app not installed: no timeline entries generated")
            return
        Activity = apps.get_model("activities", "Activity")
        ActivityLink = apps.get_model("activities", "ActivityLink")
        pg = connection.vendor == "postgresql"
        act0 = next_id(Activity)
        n = n_contacts * per_contact
        started = time.monotonic()
        kinds = len(ACTIVITY_SUBJECTS)
        # h: a deterministic pseudo-random number per activity (a multiplicative hash of its index).
        h = "((s.n * 2654435761) % 4294967296)"
        if pg:
            occurred = (f"(timestamptz '{END.isoformat()}' - ({h} % 94608000) * interval '1 second')")
            series = f"generate_series(0, {n - 1}) AS s(n)"
        else:
            end = END.strftime("%Y-%m-%d %H:%M:%S")
            occurred = f"datetime('{end}', '-' || ({h} % 94608000) || ' seconds')"
            series = (f"(WITH RECURSIVE r(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM r WHERE n < {n - 1}) "
                      f"SELECT n FROM r) AS s")
        subjects_sql = " ".join(f"WHEN {i} THEN '{text}'" for i, (_k, text) in enumerate(ACTIVITY_SUBJECTS))
        kinds_sql = " ".join(f"WHEN {i} THEN '{kind}'" for i, (kind, _s) in enumerate(ACTIVITY_SUBJECTS))
        owner_case = " ".join(f"WHEN {i} THEN {o}" for i, o in enumerate(owner_ids))
        values = {
            "id": f"{act0} + s.n", "workspace_id": str(ws), "created_at": occurred, "updated_at": occurred,
            "created_by_id": str(creator), "updated_by_id": str(creator),
            "owner_id": f"CASE ({h} / 7) % {len(owner_ids)} {owner_case} END",
            "team_id": "NULL", "kind": f"CASE {h} % {kinds} {kinds_sql} END",
            "channel": f"CASE WHEN {h} % {kinds} = 8 THEN 'wechat' ELSE '' END",
            "direction": f"CASE {h} % 3 WHEN 0 THEN 'inbound' ELSE 'outbound' END",
            "occurred_at": occurred, "duration": f"60 + {h} % 3600",
            "subject": f"CASE {h} % {kinds} {subjects_sql} END",
            "body": "'客户对新版本的交付时间和价格有疑问，已答复并约定下周再沟通。'",
            "outcome": f"CASE {h} % 4 WHEN 0 THEN '已成交' WHEN 1 THEN '待跟进' ELSE '' END",
            "external_participants": "''", "source": "'import'", "source_ref": "''",
        }
        fields = [f for f in Activity._meta.concrete_fields]
        missing = [f.column for f in fields if f.column not in values]
        for column in missing:
            values[column] = "NULL" if Activity._meta.get_field(column.removesuffix("_id")).null else "''"
        cols = ", ".join(f.column for f in fields)
        exprs = ", ".join(values[f.column] for f in fields)
        with indexes_dropped([Activity, ActivityLink], self.log), transaction.atomic(), \
                connection.cursor() as cursor:
                cursor.execute(f"INSERT INTO {Activity._meta.db_table} ({cols}) SELECT {exprs} FROM {series}")
                self.log(f"  activities: {n:,} rows in {time.monotonic() - started:.1f} s "
                         f"({n / (time.monotonic() - started):,.0f} rows/s)")
                started = time.monotonic()
                # Each activity is on its contact's timeline (the account page gathers its contacts').
                cursor.execute(
                    f"INSERT INTO {ActivityLink._meta.db_table} "
                    f"(workspace_id, activity_id, object_type, object_id, occurred_at, kind) "
                    f"SELECT workspace_id, id, 'customers.contact', {c0} + (id - {act0}) / {per_contact}, "
                    f"occurred_at, kind FROM {Activity._meta.db_table} WHERE id >= {act0}"
                )
                self.log(f"  timeline links: {n:,} rows in {time.monotonic() - started:.1f} s "
                         f"({n / (time.monotonic() - started):,.0f} rows/s)")
        reset_sequences([Activity, ActivityLink])

    def orders(self, ws, a0, n_accounts, per_account, owner_ids, creator, rng) -> None:
        if not apps.is_installed("kehu.commerce"):
            self.log("  commerce app not installed: no orders generated")
            return
        from decimal import Decimal

        Order = apps.get_model("commerce", "Order")
        OrderLine = apps.get_model("commerce", "OrderLine")
        Product = apps.get_model("commerce", "Product")
        started = time.monotonic()
        stamp = {"workspace_id": ws, "created_by_id": creator, "updated_by_id": creator}
        products = TableWriter(Product, ids=True)
        p0 = next_id(Product)
        catalog = []
        for i in range(50):
            price = Decimal(rng.choice([99, 199, 499, 1299, 4999, 19999]))
            catalog.append((p0 + i, price, (price * Decimal("0.6")).quantize(Decimal("0.01"))))
            products.add({**stamp, "id": p0 + i, "sku": f"BENCH-{i:03d}", "name": f"产品 {i:03d}",
                          "category": rng.choice(["软件", "硬件", "服务"]), "unit_price": price,
                          "unit_cost": catalog[-1][2], "currency": "CNY", "active": True,
                          "created_at": START, "updated_at": START})
        products.flush()
        o0 = next_id(Order)
        orders = TableWriter(Order, ids=True)
        lines = TableWriter(OrderLine)
        with indexes_dropped([Order, OrderLine], self.log), transaction.atomic():
            k = 0
            for a in range(n_accounts):
                for _j in range(per_account):
                    pid, price, cost = rng.choice(catalog)
                    qty = rng.randint(1, 20)
                    total, total_cost = price * qty, cost * qty
                    at = START + timedelta(days=rng.randrange(1400))
                    status = rng.choices(["paid", "shipped", "confirmed", "cancelled"], (5, 3, 1, 1))[0]
                    orders.add({**stamp, "id": o0 + k, "number": f"B{o0 + k:08d}", "external_id": "",
                                "account_id": a0 + a, "contact_id": None, "order_date": at.date(),
                                "status": status, "currency": "CNY", "total_amount": total,
                                "total_cost": total_cost, "discount": Decimal(0), "exchange_rate": Decimal(1),
                                "base_total_amount": total, "base_total_cost": total_cost,
                                "owner_id": rng.choice(owner_ids), "created_at": at, "updated_at": at})
                    lines.add({**stamp, "order_id": o0 + k, "position": 1, "product_id": pid,
                               "description": f"产品 {pid - p0:03d}", "quantity": Decimal(qty),
                               "unit_price": price, "unit_cost": cost, "line_total": total,
                               "line_cost": total_cost, "created_at": at, "updated_at": at})
                    k += 1
            orders.flush()
            lines.flush()
        elapsed = time.monotonic() - started
        self.log(f"  orders: {orders.count:,} (+ {lines.count:,} lines) in {elapsed:.1f} s "
                 f"({(orders.count + lines.count) / elapsed:,.0f} rows/s)")
        reset_sequences([Product, Order, OrderLine])

    def analyze(self) -> None:
        started = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        self.log(f"  ANALYZE in {time.monotonic() - started:.1f} s")
