from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from agreements.models import Agreement, AgreementVersion, Team


class Temperature(models.TextChoices):
    COLD = "cold", "Cold"
    WARM = "warm", "Warm"
    HOT = "hot", "Hot"


class Lead(models.Model):
    class Status(models.TextChoices):
        NURTURING = "nurturing", "Nurturing (marketing)"
        HANDED_OFF = "handed_off", "Awaiting pickup by sales"
        ACCEPTED = "accepted", "Accepted (in progress with sales)"
        QUALIFIED = "qualified", "Qualified"
        WON = "won", "Won"
        LOST = "lost", "Lost"
        DISQUALIFIED = "disqualified", "Disqualified"
        RECYCLED = "recycled", "Recycled (returns to nurture later)"

    agreement = models.ForeignKey(Agreement, on_delete=models.PROTECT, related_name="leads")
    external_id = models.CharField(max_length=200, unique=True, help_text="How CRMs refer to the lead.")
    email = models.EmailField(blank=True)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    job_title = models.CharField(max_length=200, blank=True)
    source = models.CharField(max_length=100, blank=True)
    company_name = models.CharField(max_length=200, blank=True)
    company_employees = models.PositiveIntegerField(null=True, blank=True)
    company_annual_revenue = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    company_industry = models.CharField(max_length=100, blank=True)
    company_country = models.CharField(max_length=2, blank=True)
    # Set when the person's data was erased (GDPR Art. 17): the personal fields hold a tombstone since.
    erased_at = models.DateTimeField(null=True, blank=True)

    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NURTURING)
    # NULL, never "", means "not rated yet": the API reports it as null and reports count it apart.
    marketing_temperature = models.CharField(
        max_length=10, choices=Temperature.choices, null=True, blank=True
    )
    sales_temperature = models.CharField(max_length=10, choices=Temperature.choices, null=True, blank=True)
    icp_fit = models.BooleanField(null=True, blank=True, help_text="Unknown until first evaluated.")
    is_mql = models.BooleanField(default=False)
    mql_at = models.DateTimeField(null=True, blank=True, help_text="When it first reached the MQL threshold.")
    explanation = models.JSONField(
        default=dict, blank=True, help_text="The last evaluation, clause by clause."
    )

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="leads"
    )
    sla_version = models.ForeignKey(
        AgreementVersion,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="leads",
        help_text="The version that governed the lead's transfer to sales.",
    )
    handoff_temperature = models.CharField(max_length=10, choices=Temperature.choices, null=True, blank=True)
    handed_off_at = models.DateTimeField(null=True, blank=True)
    pickup_deadline = models.DateTimeField(null=True, blank=True)
    # When the owner gets a reminder (a share of the pickup time); cleared once it is sent.
    reminder_at = models.DateTimeField(null=True, blank=True)
    # Raised on every (re)assignment; a breach or reminder is recorded once per assignment number.
    assignment_no = models.PositiveIntegerField(default=0)
    accepted_at = models.DateTimeField(null=True, blank=True)
    # The pickup (accept or reject) of the latest assignment, measured in the SLA's business time.
    picked_up_at = models.DateTimeField(null=True, blank=True)
    pickup_business_minutes = models.PositiveIntegerField(null=True, blank=True)
    pickup_within_sla = models.BooleanField(null=True, blank=True)
    pickup_breaches = models.PositiveIntegerField(default=0)

    product_potential = models.BooleanField(null=True, blank=True)
    purchase_timeframe_months = models.PositiveSmallIntegerField(null=True, blank=True)
    qualified_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.CharField(max_length=50, blank=True)
    recycle_at = models.DateTimeField(null=True, blank=True)
    # Set when sales hands a lead back; only engagement after it can send the lead to sales again.
    nurture_since = models.DateTimeField(null=True, blank=True)

    # Set by the services from their clock (not auto_now), so imports and backdated demo data stay true.
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-updated_at", "-pk"]
        indexes = [
            # leads.selectors.inbox: a rep's leads by status, most urgent deadline first
            models.Index(fields=["owner", "status", "pickup_deadline"], name="lead_inbox_idx"),
            # leads.selectors.lead_list filters and the API's updated_since
            models.Index(fields=["status", "-updated_at"], name="lead_status_updated_idx"),
            # leads.services.leads_return_recycled: recycled leads that are due back
            models.Index(fields=["recycle_at"], condition=Q(status="recycled"), name="lead_recycle_due_idx"),
            # leads.services.escalation.leads_escalate_overdue: the sweep reads only leads awaiting pickup
            models.Index(
                fields=["pickup_deadline"], condition=Q(status="handed_off"), name="lead_pickup_due_idx"
            ),
            # leads.services.escalation.leads_send_reminders
            models.Index(
                fields=["reminder_at"], condition=Q(status="handed_off"), name="lead_reminder_due_idx"
            ),
            # reporting: the MQLs of a period, or of the hour a report reads from the leads themselves
            models.Index(fields=["mql_at"], condition=Q(mql_at__isnull=False), name="lead_mql_idx"),
            # leads.services.tallies: the leads created in the hour a report reads from the leads
            models.Index(fields=["created_at"], name="lead_created_idx"),
            # leads.services.touches: the activities of an account, counted again when a lead leaves it
            models.Index(fields=["agreement", "company_name"], name="lead_account_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.full_name or self.email or self.external_id}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class Activity(models.Model):
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="activities")
    type = models.CharField(max_length=50)
    occurred_at = models.DateTimeField()
    external_id = models.CharField(
        max_length=200, unique=True, help_text="The same activity sent twice counts once."
    )
    details = models.JSONField(default=dict, blank=True)
    # When SLA Portal received it: the ingest's clock (not auto_now_add), like every write of that call.
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-occurred_at", "-pk"]
        indexes = [
            # leads.services.leads_evaluate: leads' activities inside the temperature window
            models.Index(fields=["lead", "occurred_at"], name="activity_lead_time_idx"),
            # leads.services.recount: the activities of the hour a report counts from the activities
            models.Index(fields=["occurred_at"], name="activity_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.type} at {self.occurred_at:%Y-%m-%d}"


class LeadEvent(models.Model):
    """The lead's timeline and audit trail. Append-only: rows are never edited or deleted."""

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        UPDATED = "updated", "Data updated"
        EVALUATED = "evaluated", "Evaluated"
        HANDED_OFF = "handed_off", "Handed off to sales"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"
        REJECTION_UNDONE = "rejection_undone", "Rejection undone"
        QUALIFIED = "qualified", "Qualified"
        WON = "won", "Won"
        LOST = "lost", "Lost"
        REASSIGNED = "reassigned", "Reassigned"
        BREACHED = "breached", "Pickup deadline missed"
        REMINDED = "reminded", "Pickup reminder sent"
        RETURNED = "returned", "Returned to nurture"
        FEEDBACK = "feedback", "Feedback"
        ERASED = "erased", "Personal data erased"

    class ActorType(models.TextChoices):
        USER = "user", "User"
        INTEGRATION = "integration", "Integration"
        SYSTEM = "system", "System"

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    at = models.DateTimeField()
    actor_type = models.CharField(max_length=20, choices=ActorType.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)
    sla_version = models.ForeignKey(
        AgreementVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="lead_events"
    )
    clause = models.CharField(max_length=100, blank=True)
    reason = models.CharField(max_length=100, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [
            # the lead page's timeline, and reporting's status of a lead at the end of a past period
            models.Index(fields=["lead", "at"], name="leadevent_lead_time_idx"),
            # reporting.selectors: events of a kind within a period
            models.Index(fields=["kind", "at"], name="leadevent_kind_time_idx"),
            # leads.services.tallies: every step of the hour a report reads from the events
            models.Index(fields=["at"], name="leadevent_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.lead_id} {self.kind} at {self.at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError("Lead events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Lead events are append-only.")

    @property
    def actor_label(self) -> str:
        if self.actor_type == self.ActorType.SYSTEM:
            return "SLA Portal"
        name = self.actor.username if self.actor else "deleted user"
        return f"{name} (integration)" if self.actor_type == self.ActorType.INTEGRATION else name

    @property
    def clause_label(self) -> str:
        if not self.clause:
            return ""
        return f"v{self.sla_version.number} §{self.clause}" if self.sla_version_id else f"§{self.clause}"


class Feedback(models.Model):
    """A rep's answers to the SLA's feedback questions after contacting the lead."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="feedback")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    sla_version = models.ForeignKey(AgreementVersion, on_delete=models.PROTECT, related_name="+")
    answers = models.JSONField(help_text="{question code: answer}")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"Feedback on {self.lead_id} by {self.author_id}"


class AssignmentCursor(models.Model):
    """Where round-robin stands for a sales team; stored so it is fair across restarts and processes."""

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="assignment_cursor")
    last_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The clock of the batch that took the turn (leads.services.assignment), not auto_now.
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    def __str__(self) -> str:
        return f"Round-robin of {self.team}"


class PickupNotice(models.Model):
    """A reminder or breach of one assignment of a lead. The unique constraint makes each happen once,
    however many sweeps run and however they overlap."""

    class Kind(models.TextChoices):
        REMINDER = "reminder", "Reminder"
        BREACH = "breach", "Breach"

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="pickup_notices")
    assignment_no = models.PositiveIntegerField()
    kind = models.CharField(max_length=10, choices=Kind.choices)
    at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["lead", "assignment_no", "kind"], name="pickup_notice_once")
        ]

    def __str__(self) -> str:
        return f"{self.kind} for lead {self.lead_id}, assignment {self.assignment_no}"


class Tally(models.Model):
    """What reports add up, counted per agreement and UTC hour as it happens (leads.services.tallies).

    Each write adds delta rows in the transaction of the events it counts, so no two writers wait on one
    counter row; `tallies_compact` later folds an hour's deltas into one row per figure and key. A month
    of figures is then a few thousand rows, whatever the number of leads. `key` splits a figure (by rep,
    by rejection reason, by pickup minutes); `n` may be negative (a rejection taken back).
    """

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="+", db_index=False)
    hour = models.DateTimeField()
    figure = models.CharField(max_length=30)
    key = models.CharField(max_length=200, blank=True, default="")
    n = models.BigIntegerField()
    # One row per figure and key of its hour, as tallies_compact leaves it; deltas wait to be folded.
    folded = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["agreement", "hour"], name="tally_agreement_hour_idx"),
            models.Index(fields=["hour"], condition=Q(folded=False), name="tally_unfolded_idx"),
            # reporting.rollups.in_status: one figure over the whole history
            models.Index(fields=["agreement", "figure", "hour"], name="tally_figure_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.agreement_id} {self.hour:%Y-%m-%d %H}h {self.figure}[{self.key}] {self.n:+d}"


class AccountMonth(models.Model):
    """The accounts (companies) an agreement's activities touched, one row per account and UTC month with
    its first and last touch that month (leads.services.touches): how many accounts a period touched is
    read from a row per account, not from every activity. A period's partial months are read from the
    first and last touch; only an account touched before and after a window cut from inside one month is
    looked up in its activities."""

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="+", db_index=False)
    # The lead's company_name, as the report counts it ("" for the leads that name none).
    account = models.CharField(max_length=200, blank=True)
    month = models.DateTimeField(help_text="The first moment of the UTC month.")
    first_at = models.DateTimeField()
    last_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agreement", "account", "month"], name="account_month_unique"),
        ]
        indexes = [models.Index(fields=["agreement", "month"], name="account_month_idx")]

    def __str__(self) -> str:
        return f"{self.agreement_id} {self.month:%Y-%m} {self.account!r}"
