"""The console's admin site: its home page is an overview of the user's organizations' runs."""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig


class ConsoleAdminSite(admin.AdminSite):
    site_header = site_title = "Omnify Console"
    index_title = "Overview"
    # There is no public site behind the console; "View site" would lead to a 404.
    site_url = None
    index_template = "admin/console_index.html"
    # The overview links everywhere; the run list needs the width at 1366 px.
    enable_nav_sidebar = False

    def index(self, request, extra_context=None):
        # Imported here: this module loads with the app registry, before models can be.
        from orchestration.models import WorkflowRun
        from orchestration.selectors.overview import run_overview

        context = {
            "overview": run_overview(user=request.user),
            "statuses": WorkflowRun.Status.choices,
        }
        return super().index(request, {**context, **(extra_context or {})})


class ConsoleAdminConfig(AdminConfig):
    default_site = "omnify.admin_site.ConsoleAdminSite"
