import json

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from apps.accounts.models import User
from apps.learning.services import user_data_export


@login_required
@require_GET
def data_export(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    body = json.dumps(user_data_export(user=user), indent=2)
    response = HttpResponse(body, content_type="application/json")
    stamp = timezone.now().strftime("%Y%m%d")
    response["Content-Disposition"] = f'attachment; filename="stepwise-data-{stamp}.json"'
    return response
