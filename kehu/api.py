"""The REST API at /api/v1/: one ``KehuAPI`` instance; each app contributes a router.

Conventions (errors, auth, pagination, rate limits) live in ``kehu.core.api`` and docs/api.md.
"""

from kehu.activities.api import router as activities_router
from kehu.analytics.api import router as analytics_router
from kehu.audit.api import router as audit_router
from kehu.bot.api import router as bot_router
from kehu.commerce.api import router as commerce_router
from kehu.core.api import KehuAPI
from kehu.customers.api import router as customers_router
from kehu.customfields.api import router as customfields_router
from kehu.deals.api import router as deals_router
from kehu.duplicates.api import router as duplicates_router
from kehu.forecast.api import router as forecast_router
from kehu.imports.api import router as imports_router
from kehu.knowledge.api import router as knowledge_router
from kehu.leads.api import router as leads_router
from kehu.listviews.api import router as listviews_router
from kehu.mailboxes.api import router as mailboxes_router
from kehu.portability.api import router as portability_router
from kehu.predictions.api import router as predictions_router
from kehu.quotes.api import router as quotes_router
from kehu.reports.api import router as reports_router
from kehu.scoring.api import router as scoring_router
from kehu.sla.api import router as sla_router
from kehu.surveys.api import router as surveys_router
from kehu.tickets.api import router as tickets_router
from kehu.workspaces.api import router as workspaces_router

api = KehuAPI(
    title="Kehu API",
    version="1",
    description="Kehu CRM REST API. Conventions (auth, errors, pagination, rate limits): docs/api.md",
    docs_url="/docs",
    openapi_url="/openapi.json",
    urls_namespace="api-v1",
)

api.add_router("", workspaces_router)
api.add_router("", audit_router)
# Before the record routers: "/contacts/merge" must win over "/contacts/{contact_id}".
api.add_router("", duplicates_router)
api.add_router("", customers_router)
api.add_router("", customfields_router)
api.add_router("", listviews_router)
api.add_router("", activities_router)
api.add_router("", commerce_router)
api.add_router("", imports_router)
api.add_router("", portability_router)
api.add_router("", leads_router)
api.add_router("", deals_router)
api.add_router("", quotes_router)
api.add_router("", scoring_router)
api.add_router("", forecast_router)
api.add_router("", predictions_router)
api.add_router("", knowledge_router)
api.add_router("", bot_router)
api.add_router("", sla_router)
api.add_router("", analytics_router)
api.add_router("", tickets_router)
api.add_router("", mailboxes_router)
api.add_router("", reports_router)
api.add_router("", surveys_router)
