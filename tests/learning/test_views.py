import json

import pytest
from django.urls import reverse

from apps.progress.models import Status
from apps.progress.services import step_status_set
from tests.factories import StepFactory

pytestmark = pytest.mark.django_db


def test_download_my_data(client, learner):
    step_status_set(user=learner, step=StepFactory(), status=Status.DONE)
    client.force_login(learner)

    response = client.get(reverse("learning:export"))

    assert response["Content-Disposition"].startswith('attachment; filename="stepwise-data-')
    data = json.loads(response.content)
    assert data["profile"]["email"] == learner.email
    assert len(data["step_statuses"]) == 1 and len(data["events"]) == 1


def test_download_is_at_its_account_address_and_needs_login(client):
    url = reverse("learning:export")

    assert url == "/account/export/"
    assert client.get(url).status_code == 302
