"""A generated lead history with a known signal, for the tests, the benchmark and the demo.

Industry "Software" and source "referral" win more often, ad campaigns less; everything else is
noise. A model that learns anything real ranks won leads above lost ones on a holdout.
"""

import math
import random
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

INDUSTRIES = ("Software", "Manufacturing", "Retail", "Education", "Healthcare", "Finance", "Logistics")
SOURCES = ("web_form", "import", "api", "event", "referral", "ad_campaign", "manual")
SIZES = ("1-9", "10-49", "50-249", "250-999", "1000+")
PROVINCES = ("上海", "北京", "广东", "浙江", "江苏", "四川", "湖北", "山东")
TITLES = (
    "CEO",
    "CTO",
    "Purchasing manager",
    "Engineer",
    "IT director",
    "Office manager",
    "总经理",
    "采购经理",
)
UTM_SOURCES = ("", "", "baidu", "wechat", "linkedin", "newsletter")


INDUSTRY_EFFECT = {
    "Software": 1.8,
    "Manufacturing": 0.0,
    "Retail": -0.7,
    "Education": -0.5,
    "Healthcare": 0.2,
    "Finance": 0.5,
    "Logistics": -0.2,
}
SOURCE_EFFECT = {
    "web_form": 0.0,
    "import": -0.5,
    "api": 0.0,
    "event": 0.4,
    "referral": 1.6,
    "ad_campaign": -1.4,
    "manual": 0.0,
}
SIZE_EFFECT = {"1-9": -0.4, "10-49": -0.2, "50-249": 0.0, "250-999": 0.3, "1000+": 0.6}


def win_probability(industry: str, source: str, size: str) -> float:
    """The true P(won) the generator draws outcomes from (province, title, UTM are pure noise)."""
    z = -0.4 + INDUSTRY_EFFECT[industry] + SOURCE_EFFECT[source] + SIZE_EFFECT[size]
    return 1 / (1 + math.exp(-z))


def lead_fields(rng: random.Random) -> dict:
    return {
        "industry": rng.choice(INDUSTRIES),
        "source": rng.choice(SOURCES),
        "size": rng.choice(SIZES),
        "country": "CN",
        "province": rng.choice(PROVINCES),
        "title": rng.choice(TITLES),
        "utm_source": rng.choice(UTM_SOURCES),
    }


def _pipeline(workspace):
    from kehu.customers.models import Account
    from kehu.deals.models import Pipeline, Stage

    pipeline, _created = Pipeline.objects.get_or_create(
        workspace=workspace, name="Scoring history", defaults={"position": 99}
    )
    won, _c = Stage.objects.get_or_create(
        workspace=workspace, pipeline=pipeline, name="Won", defaults={"is_won": True, "probability": 100}
    )
    lost, _c = Stage.objects.get_or_create(
        workspace=workspace, pipeline=pipeline, name="Lost", defaults={"is_lost": True, "position": 1}
    )
    account = Account.objects.filter(workspace=workspace, name="Scoring history").first()
    if account is None:
        account = Account.objects.create(workspace=workspace, name="Scoring history")
    return pipeline, won, lost, account


class _Inserter:
    """Plain multi-row INSERTs with explicit ids: the ORM's ``bulk_create`` spends ~1 ms per lead in
    Python on these machines (every field of every row prepared), 30 minutes for 1M leads.

    Constant columns are prepared once (their defaults); per row only the varying ones. Ids are
    taken after the table's current maximum, so it must run without concurrent inserts into the
    same tables (a generator, not a service); PostgreSQL's id sequences are moved past them after.
    """

    def __init__(self, model, varying: tuple[str, ...]):
        from django.db import connection

        self.model, self.connection = model, connection
        self.fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        self.varying = varying
        now = timezone.now()
        self.constant = {}
        for f in self.fields:
            if f.attname in varying or f.name in varying:
                continue
            value = now if getattr(f, "auto_now", False) else f.get_default()
            self.constant[f.attname] = f.get_db_prep_save(value, connection)
        self.by_name = {f.attname: f for f in self.fields} | {f.name: f for f in self.fields}
        columns = ["id", *(f.column for f in self.fields)]
        quote = connection.ops.quote_name
        self.sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608 - names from the model
            quote(model._meta.db_table),
            ", ".join(quote(c) for c in columns),
            ", ".join(["%s"] * len(columns)),
        )
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT MAX(id) FROM {quote(model._meta.db_table)}")  # noqa: S608
            self.next_id = (cursor.fetchone()[0] or 0) + 1

    def insert(self, rows: list[dict]) -> list[int]:
        """Insert ``rows`` (varying values by field name); their new ids in order."""
        ids = list(range(self.next_id, self.next_id + len(rows)))
        self.next_id += len(rows)
        prep = self.connection
        params = []
        for pk, row in zip(ids, rows, strict=True):
            values = [pk]
            for f in self.fields:
                if f.attname in self.constant:
                    values.append(self.constant[f.attname])
                else:
                    raw = row.get(f.name, row.get(f.attname))
                    plain = raw is None or type(raw) in (str, int)  # nothing to adapt: skip the field's hooks
                    values.append(raw if plain else f.get_db_prep_save(raw, prep))
            params.append(values)
        with self.connection.cursor() as cursor:
            cursor.executemany(self.sql, params)
        return ids

    def finish(self) -> None:
        from django.core.management.color import no_style

        with self.connection.cursor() as cursor:
            for sql in self.connection.ops.sequence_reset_sql(no_style(), [self.model]):
                cursor.execute(sql)


LEAD_VARYING = (
    "workspace",
    "name",
    "company",
    "industry",
    "source",
    "size",
    "country",
    "province",
    "title",
    "utm_source",
    "status",
    "disqualified_reason",
    "converted_at",
    "converted_opportunity",
)
OPPORTUNITY_VARYING = ("workspace", "name", "account", "pipeline", "stage", "status", "closed_at", "currency")


@transaction.atomic
def generate(workspace, n: int, *, seed: int = 7, open_share: float = 0.1, batch: int = 5_000) -> dict:
    """Insert ``n`` leads: ``open_share`` open, the rest won or lost by ``win_probability``.

    Lost leads are half disqualified, half converted with a lost opportunity. Plain inserts, no
    services (no audit, no signals): this is history, not user input. Returns the counts.
    """
    from kehu.deals.models import Opportunity
    from kehu.leads.models import Lead

    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    pipeline, won_stage, lost_stage, account = _pipeline(workspace)
    leads_table = _Inserter(Lead, LEAD_VARYING)
    deals_table = _Inserter(Opportunity, OPPORTUNITY_VARYING)
    now = timezone.now()
    counts = {"won": 0, "lost": 0, "open": 0}
    done = 0
    while done < n:
        size = min(batch, n - done)
        leads, deals = [], []
        for i in range(size):
            fields = lead_fields(rng)
            lead = {
                "workspace": workspace.pk,
                "name": f"Lead {done + i}",
                "company": f"Company {done + i}",
                "status": Lead.Status.NEW,
                "disqualified_reason": "",
                "converted_at": None,
                "converted_opportunity": None,
                **fields,
            }
            if rng.random() < open_share:
                lead["status"] = rng.choice((Lead.Status.NEW, Lead.Status.CONTACTED, Lead.Status.QUALIFIED))
                outcome = "open"
            elif rng.random() < win_probability(fields["industry"], fields["source"], fields["size"]):
                outcome = "won"
            elif rng.random() < 0.5:
                lead.update(status=Lead.Status.DISQUALIFIED, disqualified_reason="No budget")
                outcome = "lost"
            else:
                outcome = "lost_deal"
            if outcome in ("won", "lost_deal"):
                won = outcome == "won"
                lead.update(status=Lead.Status.QUALIFIED, converted_at=now - timedelta(days=30))
                deals.append(
                    (
                        lead,
                        {
                            "workspace": workspace.pk,
                            "name": lead["company"],
                            "account": account.pk,
                            "pipeline": pipeline.pk,
                            "stage": (won_stage if won else lost_stage).pk,
                            "status": "won" if won else "lost",
                            "currency": "CNY",
                            "closed_at": now - timedelta(days=10),
                        },
                    )
                )
            leads.append(lead)
            counts["lost" if outcome == "lost_deal" else outcome] += 1
        ids = deals_table.insert([deal for _lead, deal in deals])
        for (lead, _deal), pk in zip(deals, ids, strict=True):
            lead["converted_opportunity"] = pk
        leads_table.insert(leads)
        done += size
    deals_table.finish()
    leads_table.finish()
    return counts
