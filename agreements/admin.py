"""Admin: teams and who is available are managed here; versions change only through the SLA pages."""

from django.contrib import admin

from agreements.models import Agreement, AgreementSection, AgreementVersion, Team, TeamMember, VersionEvent


class TeamMemberInline(admin.TabularInline):
    model = TeamMember
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "department"]
    list_filter = ["department"]
    search_fields = ["name"]
    inlines = [TeamMemberInline]


@admin.register(Agreement)
class AgreementAdmin(admin.ModelAdmin):
    list_display = ["name", "marketing_team", "sales_team", "created_at"]
    list_select_related = ["marketing_team", "sales_team"]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Signatures and the event log are evidence: nobody edits or deletes them, not even an admin."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class SectionInline(admin.StackedInline):
    model = AgreementSection
    can_delete = False
    extra = 0

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(AgreementVersion)
class AgreementVersionAdmin(ReadOnlyAdmin):
    list_display = ["agreement", "number", "status", "effective_from", "effective_until"]
    list_filter = ["status", "agreement"]
    list_select_related = ["agreement"]
    inlines = [SectionInline]


@admin.register(VersionEvent)
class VersionEventAdmin(ReadOnlyAdmin):
    list_display = ["version", "kind", "actor", "side", "section", "at"]
    list_filter = ["kind"]
    list_select_related = ["version__agreement", "actor"]
