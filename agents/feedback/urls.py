from django.urls import path

from agents.feedback import views

app_name = "feedback"
urlpatterns = [path("", views.feedback_page, name="page")]
