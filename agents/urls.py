from django.urls import path

from agents import views

app_name = "agents"
urlpatterns = [
    path("", views.agent_list, name="list"),
    path("<int:agent_id>/", views.agent_detail, name="detail"),
    path("<int:agent_id>/calibration", views.agent_calibration, name="calibration"),
    path("<int:agent_id>/tokens", views.token_create, name="token-create"),
    path("<int:agent_id>/tokens/<int:token_id>/revoke", views.token_revoke, name="token-revoke"),
    path("<int:agent_id>/webhook", views.webhook_save, name="webhook-save"),
    path("<int:agent_id>/webhook/secret", views.webhook_secret_rotate, name="webhook-secret"),
    path(
        "<int:agent_id>/deliveries/<int:delivery_id>/redeliver",
        views.delivery_redeliver,
        name="delivery-redeliver",
    ),
    path("<int:agent_id>/automation", views.automation_switch, name="automation"),
]
