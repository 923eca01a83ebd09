from kehu.forecast.demo import seed
from kehu.forecast.models import SalesTarget
from kehu.forecast.periods import current


def test_demo_quotas(tenant, sales_data):
    created = seed("acme", 7)
    with tenant.scope():
        now = current(tenant.workspace)
        # Three owners (sales, manager, admin) × 9 months, and the East team's quarter.
        assert SalesTarget.objects.filter(period="month", start_date__gte=now.shifted(-2).start).count() == 27
        assert SalesTarget.objects.filter(team=sales_data["team"], start_date=now.start).exists()
    assert created >= 28
    assert seed("acme", 7) == 0  # again: nothing changes
