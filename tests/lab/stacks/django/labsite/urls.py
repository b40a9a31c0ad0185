from django.urls import re_path
from django.views.generic import RedirectView

from api import views

urlpatterns = [
    re_path(r"^s/(?P<scn>[^/]+)/data$", views.data),
    re_path(r"^s/(?P<scn>[^/]+)/v2/report$", views.data),
    re_path(r"^s/(?P<scn>[^/]+)/report$", RedirectView.as_view(url="v2/report", permanent=False)),
    re_path(r"^s/(?P<scn>[^/]+)/fail$", views.fail),
]
