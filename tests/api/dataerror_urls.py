"""Routes for tests/api/test_contract.py: the real API, plus a view that hands a query
parameter to PostgreSQL unchecked, as a view that forgot its check would."""

from django.db import connection
from django.urls import path

from astro.core.api.plumbing import ApiView
from config.urls import urlpatterns as astro_urlpatterns
from items.models import Item
from rest_framework.response import Response


class UncheckedApi(ApiView):
    required_scopes = {"GET": "items:read"}

    def get(self, request):
        if (since := request.query_params.get("since")) is not None:  # PostgreSQL parses it: DataError
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM items WHERE created_at >= %s::timestamptz", [since])
                return Response({"any": cursor.fetchone()[0] > 0})
        after = request.query_params.get("after")  # the model field parses it: Django's ValidationError
        return Response({"any": Item.objects.filter(created_at__gte=after).exists()})


urlpatterns = [path("api/unchecked", UncheckedApi.as_view()), *astro_urlpatterns]
