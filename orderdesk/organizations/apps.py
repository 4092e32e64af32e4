from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class OrganizationsConfig(AppConfig):
    name = "orderdesk.organizations"
    label = "organizations"

    def ready(self) -> None:
        from django_otp.plugins.otp_totp.models import TOTPDevice

        from orderdesk.organizations.second_factor import sync_enrolment

        post_save.connect(sync_enrolment, sender=TOTPDevice, dispatch_uid="sync_enrolment_save")
        post_delete.connect(sync_enrolment, sender=TOTPDevice, dispatch_uid="sync_enrolment_delete")
