"""The demo workspace gets CSAT answers on resolved tickets and one answered NPS survey."""

import pytest
from django_scopes import scope, scopes_disabled

from kehu.operations import demo
from kehu.surveys.models import Survey, SurveyResponse
from kehu.workspaces.models import Workspace

pytestmark = pytest.mark.django_db


def test_demo_has_answers():
    assert demo.seed()
    with scopes_disabled():
        workspace = Workspace.objects.get(slug=demo.DEMO_SLUG)
    with scope(workspace=workspace):
        csat = SurveyResponse.objects.filter(kind="csat")
        assert csat.count() >= 5
        for response in csat.select_related("ticket"):
            assert response.ticket.satisfaction == response.score
        survey = Survey.objects.get(kind="nps")
        assert survey.status == "sent" and SurveyResponse.objects.filter(survey=survey).count() >= 5
        assert SurveyResponse.objects.exclude(comment="").filter(sentiment="").exists()  # job queued
