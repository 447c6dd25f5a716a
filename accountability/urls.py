from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from agents import api as agents_api
from review import api as review_api

api_patterns = [
    path("items", agents_api.ItemSubmitApi.as_view(), name="item-submit"),
    path("items/batch", agents_api.ItemBatchSubmitApi.as_view(), name="item-batch-submit"),
    path("items/<int:item_id>", review_api.ItemDetailApi.as_view(), name="item-detail"),
    path("items/<int:item_id>/release", review_api.ItemReleaseApi.as_view(), name="item-release"),
    path(
        "items/<int:item_id>/decision", review_api.ItemDecisionApi.as_view(), name="item-decision"
    ),
    path("documents", agents_api.DocumentUploadApi.as_view(), name="document-upload"),
    path(
        "documents/<int:document_id>",
        agents_api.DocumentDetailApi.as_view(),
        name="document-detail",
    ),
    path("queues", review_api.QueueListApi.as_view(), name="queue-list"),
    path("queues/<slug:slug>/claim", review_api.QueueClaimApi.as_view(), name="queue-claim"),
]

urlpatterns = [
    path("", include("review.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include((api_patterns, "api"))),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
