from django.apps import AppConfig

from items.signals import trade_url_set


class AssignmentsConfig(AppConfig):
    name = "assignments"
    verbose_name = "Assignments"

    def ready(self):
        # Imported here, not at the top: the receivers import models, which need the
        # app registry that is only ready now.
        from assignments.receivers import resume_deliveries_on_trade_url

        trade_url_set.connect(resume_deliveries_on_trade_url, dispatch_uid="assignments.resume_deliveries_on_trade_url")
