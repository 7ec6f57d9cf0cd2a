from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from inventory.server.programme import views as programme
from inventory.server.reports import views as reports

admin.site.site_header = "weee"
admin.site.site_title = "weee"

urlpatterns = [
    path("api/v1/", include("inventory.server.api.urls")),
    # before admin/: these pages live under the admin's URL space and look
    path("admin/reports/", admin.site.admin_view(reports.report), name="report"),
    path(
        "admin/receipts/<int:pk>.pdf",
        admin.site.admin_view(programme.handover_receipt),
        name="handover-receipt",
    ),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("donor/", programme.donor_batches, name="donor-batches"),
    path(
        "donor/batches/<int:pk>/certificate.pdf",
        programme.batch_certificate,
        name="batch-certificate",
    ),
    path(
        "donor/batches/<int:pk>/certificates.pdf",
        programme.batch_certificate,
        {"kind": "certificates"},
        name="batch-certificates",
    ),
    path("verify/<str:record_id>", programme.verify_record, name="verify-record"),
    path("", programme.home, name="home"),
]
