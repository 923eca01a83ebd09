import pytest

from kehu.customers.services import create_account, create_contact


@pytest.fixture
def deal_setup(tenant):
    """An account and contact owned by the sales persona, and the workspace's default pipeline."""
    from kehu.deals.services import default_pipeline

    with tenant.scope():
        sales = tenant.actors["sales"]
        account = create_account(sales, name="华为技术有限公司")
        contact = create_contact(sales, name="王伟", account_id=account.pk)
        pipeline = default_pipeline(tenant.workspace)
        stages = {s.probability: s for s in pipeline.stages.all()}
    return {"account": account, "contact": contact, "pipeline": pipeline, "stages": stages}
