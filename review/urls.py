from django.urls import path

from review import threshold_views, views
from review.dashboard import views as dashboard_views

app_name = "review"
urlpatterns = [
    path("", views.home, name="home"),
    path("dashboard/", dashboard_views.dashboard, name="dashboard"),
    path("dashboard/items/", dashboard_views.drill_down, name="dashboard-items"),
    path("dashboard/reviewers/<int:user_id>/", dashboard_views.reviewer, name="dashboard-reviewer"),
    path("dashboard/staffing/", dashboard_views.staffing, name="dashboard-staffing"),
    path("queues/<slug:slug>/start", views.queue_start, name="queue-start"),
    path("queues/<slug:slug>/escalations", views.queue_escalations, name="queue-escalations"),
    path(
        "queues/<slug:slug>/thresholds/",
        threshold_views.queue_thresholds,
        name="queue-thresholds",
    ),
    path(
        "queues/<slug:slug>/thresholds/projection",
        threshold_views.queue_thresholds_projection,
        name="queue-thresholds-projection",
    ),
    path(
        "queues/<slug:slug>/thresholds/apply",
        threshold_views.queue_thresholds_apply,
        name="queue-thresholds-apply",
    ),
    path(
        "queues/<slug:slug>/thresholds/<slug:table>.csv",
        threshold_views.queue_thresholds_csv,
        name="queue-thresholds-csv",
    ),
    path("items/<int:item_id>/claim", views.escalation_claim, name="escalation-claim"),
    path("review/<int:item_id>/", views.workspace, name="workspace"),
    path("review/<int:item_id>/submit", views.workspace_submit, name="workspace-submit"),
    path("review/<int:item_id>/heartbeat", views.workspace_heartbeat, name="workspace-heartbeat"),
    path("items/<int:item_id>/", views.item_detail, name="item"),
    path("items/<int:item_id>/trace", views.item_trace, name="item-trace"),
    *(
        path(
            f"items/<int:item_id>/{action}",
            views.item_lead_action,
            {"action": action},
            name=f"item-{action}",
        )
        for action in ("reassign", "send-back", "override")
    ),
    path("items/<int:item_id>/trace.json", views.item_trace_json, name="item-trace-json"),
    path(
        "documents/<int:document_id>/pages/<int:number>.png",
        views.document_page,
        name="document-page",
    ),
    path("documents/<int:document_id>/html", views.document_html, name="document-html"),
]
