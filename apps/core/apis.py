"""API views that belong to no domain."""

from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


@extend_schema(exclude=True)
class BenchConstantApi(APIView):
    """The cheapest DRF endpoint: the benchmark's yardstick (only with STEPWISE_BENCH_ENDPOINTS)."""

    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        return Response({"ok": True})
