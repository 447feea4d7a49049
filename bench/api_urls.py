"""The site's URLs plus a bare DRF view, for the API benchmark only."""

from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.urls import urlpatterns as site_urlpatterns


class ConstantApi(APIView):
    """The cheapest DRF endpoint (the API's authentication, throttles and renderer, and
    nothing else): the yardstick for the real ones."""

    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        return Response({"ok": True})


# Ahead of the site's: /api/v1/ answers 404 to any path it does not know.
urlpatterns = [path("api/v1/bench/constant/", ConstantApi.as_view()), *site_urlpatterns]
