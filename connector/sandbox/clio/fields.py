"""Clio's readable fields per resource and the `fields=` parser: a field Clio lacks fails here as it does there.

The tables were read once from Clio's published OpenAPI spec; the spec is never loaded at runtime.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from connector.sandbox.clio.constants import PARTICIPANT
from connector.sandbox.clio.errors import SandboxError

# Readable field names per resource, from Clio's OpenAPI spec (Contact, Matter, ... and their nested types).
_SCALARS: Final[dict[str, str]] = {
    "account": "id etag name state created_at updated_at",
    "account_balance": "id balance type name currency_id",
    "activity": (
        "id etag type date quantity_in_hours rounded_quantity_in_hours quantity rounded_quantity "
        "quantity_redacted price note flat_rate billed on_bill total contingency_fee created_at "
        "updated_at reference non_billable non_billable_total no_charge tax_setting currency"
    ),
    "activity_description": (
        "id etag name visible_to_co_counsel created_at updated_at default type utbms_activity_id "
        "utbms_task_name utbms_task_id xero_service_code accessible_to_user category_type currency"
    ),
    "activity_rate": "id etag rate flat_rate created_at updated_at contact_id co_counsel_contact_id",
    "address": "id etag street city province postal_code country name created_at updated_at primary",
    "attendee": "id etag type name enabled email created_at updated_at",
    "avatar": "id etag created_at updated_at url _destroy",
    "calendar": (
        "id etag color light_color court_rules_default_calendar name permission type visible created_at "
        "updated_at source"
    ),
    "calendar_entry": (
        "id etag summary description location start_at end_at all_day recurrence_rule parent_calendar_entry_id "
        "court_rule created_at updated_at permission calendar_owner_id start_at_time_zone time_entries_count"
    ),
    "calendar_entry_event_type": "id etag created_at updated_at color name",
    "communication": "id etag subject body type date time_entries_count created_at updated_at received_at",
    "communication_eml_file": "id",
    "conference_meeting": "conference_id conference_password created_at etag id join_url type source_id updated_at",
    "contact": (
        "id etag name first_name middle_name last_name date_of_birth type created_at updated_at prefix "
        "title initials clio_connect_email locked_clio_connect_email client_connect_user_id "
        "primary_email_address secondary_email_address primary_phone_number secondary_phone_number "
        "ledes_client_id has_clio_for_clients_permission is_client is_clio_for_client_user is_co_counsel "
        "is_bill_recipient sales_tax_number currency"
    ),
    "contingency_fee": "id etag created_at updated_at show_contingency_award",
    "custom_action": "id etag label target_url ui_reference created_at updated_at",
    "custom_field_set_association": "id etag display_order created_at updated_at",
    "custom_field_value": (
        "id etag field_name created_at updated_at field_type field_required field_displayed "
        "field_display_order value soft_deleted"
    ),
    "document": ("id etag created_at updated_at deleted_at type locked name received_at filename size content_type"),
    "email_address": "id etag address name primary created_at updated_at",
    "evergreen_retainer": "id created_at updated_at etag minimum_threshold",
    "external_property": "id etag name value created_at updated_at",
    "folder": "id etag created_at updated_at deleted_at type locked name root",
    "group": "client_connect_user etag id name type updated_at",
    "instant_messenger": "id etag address name created_at updated_at",
    "job_title": "id etag name initials",
    "legal_aid_uk_contact": (
        "id disability disability_code ethnicity ethnicity_title financially_eligible gender gender_title "
        "national_insurance_number"
    ),
    "legal_aid_uk_matter": (
        "access_point laa_office_number ait_hearing_centre "
        "attended_several_hearings_acting_for_multiple_clients bill_ho_ucn bill_number_of_attendances "
        "bill_outcome_for_the_client_code bill_stage_reached_code case_reference case_start_date category "
        "category_as_string certificate_effective_date certificate_expiration_date certificate_number "
        "certificate_scope certification_type change_of_solicitor client_equal_opportunity_monitoring "
        "client_type clr_start_date clr_total_profit_costs cost_limit counsel court court_id "
        "court_id_code created_at delivery_location dscc_number duty_solicitor etag "
        "exceptional_case_funding_reference expense_limit fee_scheme first_conducting_solicitor id "
        "irc_surgery legacy_case legal_representation_number lh_total_disbursements lh_start_date "
        "lh_total_profit_costs linked_matter_id local_authority_number maat_id matter_type "
        "matter_type_code matter_type_1 matter_type_1_code matter_type_1_title matter_type_2 "
        "matter_type_2_code matter_type_2_title matter_types_combined number_of_clients_seen_at_surgery "
        "number_of_clients party police_station post_transfer_clients_represented "
        "postal_application_accepted prior_authority_reference prison_id prison_law_prior_approval_number "
        "procurement_area region related_claims_number representation_order_date "
        "schedule_reference_number scheme_id session_type solicitor_type standard_fee_category "
        "surgery_clients_resulting_in_a_legal_help_matter_opened surgery_clients surgery_date "
        "transfer_date type_of_advice type_of_service ucn ufn undesignated_area_court updated_at "
        "user_type youth_court"
    ),
    "matter": (
        "id etag number display_number custom_number currency description status location "
        "client_reference client_id billable maildrop_address billing_method open_date close_date "
        "pending_date created_at updated_at shared has_tasks last_activity_date matter_stage_updated_at"
    ),
    "matter_bill_recipient": "created_at etag id updated_at",
    "matter_budget": ("id etag budget include_expenses notification_threshold notify_users created_at updated_at"),
    "matter_custom_rate": "type on_invoice",
    "matter_docket": "id etag name start_date start_time status created_at updated_at deleted_at",
    "matter_stage": "id etag practice_area_id name order created_at updated_at",
    "note": "id etag type subject detail detail_text_type date created_at updated_at time_entries_count",
    "notification_event_subscriber": "id etag user_id name created_at updated_at",
    "notification_method": "id etag type email_address is_default_email_address created_at updated_at",
    "participant": (
        "id etag created_at updated_at type identifier secondary_identifier enabled name initials job_title_name"
    ),
    "payment_profile": (
        "id etag created_at updated_at billing_setting_id name terms discount_rate discount_period "
        "interest_rate interest_period interest_type"
    ),
    "phone_number": "id etag number name primary created_at updated_at",
    "practice_area": "id etag created_at updated_at name category code",
    "relationship": "id etag description created_at updated_at",
    "reminder": "id etag duration next_delivery_at state created_at updated_at",
    "split_invoice_payer": ("id contact_id matter_id send_to_bill_recipients split_portion etag created_at updated_at"),
    "task": (
        "id etag name status description description_text_type priority due_at permission completed_at "
        "notify_completion statute_of_limitations time_estimated created_at updated_at time_entries_count"
    ),
    "task_template_list_instance": "id etag created_at updated_at",
    "task_type": "id etag name deleted_at created_at updated_at",
    "user": (
        "account_owner clio_connect court_rules_default_attendee created_at default_calendar_id email "
        "enabled etag first_name id initials last_name name phone_number rate roles subscription_type "
        "time_zone updated_at"
    ),
    "web_site": "id etag address name default_web_site created_at updated_at",
    "webhook": "id etag url fields shared_secret model status events expires_at created_at updated_at",
}
_NESTED: Final[dict[str, dict[str, str]]] = {
    "contact": {
        "activity_rates": "activity_rate",
        "addresses": "address",
        "custom_field_values": "custom_field_value",
        "custom_field_set_associations": "custom_field_set_association",
        "email_addresses": "email_address",
        "instant_messengers": "instant_messenger",
        "phone_numbers": "phone_number",
        "web_sites": "web_site",
        "notification_methods": "notification_method",
        "account_balances": "account_balance",
        "related_contacts": "contact",
        "primary_work_address": "address",
        "primary_address": "address",
        "secondary_address": "address",
        "company": "contact",
        "avatar": "avatar",
        "payment_profile": "payment_profile",
        "folder": "folder",
        "co_counsel_rate": "activity_rate",
        "primary_web_site": "web_site",
        "legal_aid_uk_contact": "legal_aid_uk_contact",
    },
    "matter": {
        "client": "contact",
        "contingency_fee": "contingency_fee",
        "custom_rate": "matter_custom_rate",
        "evergreen_retainer": "evergreen_retainer",
        "folder": "folder",
        "group": "group",
        "matter_budget": "matter_budget",
        "matter_stage": "matter_stage",
        "originating_attorney": "user",
        "practice_area": "practice_area",
        "responsible_attorney": "user",
        "statute_of_limitations": "task",
        "user": "user",
        "legal_aid_uk_matter": "legal_aid_uk_matter",
        "account_balances": "account_balance",
        "custom_field_values": "custom_field_value",
        "custom_field_set_associations": "custom_field_set_association",
        "matter_bill_recipients": "matter_bill_recipient",
        "relationships": "relationship",
        "task_template_list_instances": "task_template_list_instance",
        "split_invoice_payers": "split_invoice_payer",
    },
    "relationship": {"matter": "matter", "contact": "contact"},
    "calendar_entry": {
        "time_entries": "activity",
        "conference_meeting": "conference_meeting",
        "matter": "matter",
        "matter_docket": "matter_docket",
        "calendar_owner": "calendar",
        "parent_calendar_entry": "calendar_entry",
        "calendar_entry_event_type": "calendar_entry_event_type",
        "attendees": "attendee",
        "calendars": "calendar",
        "reminders": "reminder",
        "external_properties": "external_property",
    },
    "note": {
        "matter": "matter",
        "contact": "contact",
        "author": "user",
        "time_entries": "activity",
        "notification_event_subscribers": "notification_event_subscriber",
    },
    "communication": {
        "user": "user",
        "matter": "matter",
        "communication_eml_file": "communication_eml_file",
        "senders": "participant",
        "receivers": "participant",
        "external_properties": "external_property",
        "time_entries": "activity",
        "documents": "document",
        "notification_event_subscribers": "notification_event_subscriber",
    },
    "task": {
        "time_entries": "activity",
        "task_type": "task_type",
        "assigner": "user",
        "matter": "matter",
        "assignee": "participant",
        "reminders": "reminder",
    },
    "webhook": {"user": "user"},
    "user": {
        "default_activity_description": "activity_description",
        "notification_methods": "notification_method",
        "account": "account",
        "avatar": "avatar",
        "contact": "contact",
        "job_title": "job_title",
        "groups": "group",
    },
}
_SCALAR_SETS: Final[dict[str, frozenset[str]]] = {name: frozenset(text.split()) for name, text in _SCALARS.items()}

# Which nested fields point at a record the sandbox stores (rendered live), by (owner, field).
_REFERENCES: Final[dict[tuple[str, str], str]] = {
    ("matter", "client"): "contacts",
    ("matter", "responsible_attorney"): "users",
    ("matter", "originating_attorney"): "users",
    ("matter", "user"): "users",
    ("matter", "practice_area"): "practice_areas",
    ("contact", "company"): "contacts",
    ("contact", "related_contacts"): "contacts",
    ("relationship", "matter"): "matters",
    ("relationship", "contact"): "contacts",
    ("calendar_entry", "matter"): "matters",
    ("note", "matter"): "matters",
    ("note", "contact"): "contacts",
    ("note", "author"): "users",
    ("communication", "matter"): "matters",
    ("communication", "user"): "users",
    ("communication", "senders"): PARTICIPANT,
    ("communication", "receivers"): PARTICIPANT,
    ("task", "matter"): "matters",
    ("task", "assignee"): PARTICIPANT,
    ("task", "assigner"): "users",
    ("webhook", "user"): "users",
}
# What a nested resource named without braces returns (Clio's "default fields").
_DEFAULT_NESTED: Final[dict[str, tuple[str, ...]]] = {
    "contact": ("id", "etag", "name"),
    "user": ("id", "etag", "name"),
    "matter": ("id", "etag", "display_number"),
    "practice_area": ("id", "etag", "name"),
    "participant": ("id", "etag", "type", "name"),
    "phone_number": ("id", "etag", "number", "name", "primary"),
    "address": ("id", "etag", "street", "city", "province", "postal_code", "country"),
    "email_address": ("id", "etag", "address", "name", "primary"),
    "external_property": ("id", "etag", "name", "value"),
}
_COLLECTIONS: Final[dict[str, str]] = {
    "contact": "contacts",
    "matter": "matters",
    "relationship": "relationships",
    "calendar_entry": "calendar_entries",
    "note": "notes",
    "communication": "communications",
    "task": "tasks",
    "webhook": "webhooks",
    "custom_action": "custom_actions",
    "user": "users",
    "practice_area": "practice_areas",
}
_READ_ONLY: Final = frozenset({"id", "etag", "created_at", "updated_at"})
CONTACT_EDITABLE: Final = _SCALAR_SETS["contact"].union(_NESTED["contact"]) - _READ_ONLY
MATTER_EDITABLE: Final = _SCALAR_SETS["matter"].union(_NESTED["matter"]) - _READ_ONLY
CALENDAR_ENTRY_EDITABLE: Final = _SCALAR_SETS["calendar_entry"].union(_NESTED["calendar_entry"]) - _READ_ONLY


@dataclass(frozen=True, slots=True)
class FieldSelection:
    """A parsed `fields=` value: top-level names, each with its braced sub-fields (or None)."""

    resource: str
    items: tuple[tuple[str, tuple[str, ...] | None], ...]

    @property
    def names(self) -> frozenset[str]:
        """The top-level field names selected."""
        return frozenset(name for name, _ in self.items)


_ID_ONLY: Final = (("id", None), ("etag", None))


def _scalars(resource: str) -> frozenset[str]:
    return _SCALAR_SETS.get(resource, frozenset({"id", "etag"}))


def _split_top_level(text: str) -> list[str]:
    """Split a fields string on the commas outside braces."""
    parts: list[str] = []
    depth = start = 0
    for index, char in enumerate(text):
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth < 0:
                raise SandboxError(400, f"Invalid fields parameter: unbalanced '}}' in {text!r}")
        elif char == "," and depth == 0:
            parts.append(text[start:index])
            start = index + 1
    if depth:
        raise SandboxError(400, f"Invalid fields parameter: unbalanced '{{' in {text!r}")
    parts.append(text[start:])
    return [part.strip() for part in parts if part.strip()]


def _parse_field(resource: str, part: str, unknown: list[str]) -> tuple[str, tuple[str, ...] | None]:
    name, brace, rest = part.partition("{")
    name = name.strip()
    nested = _NESTED.get(resource, {})
    if name not in _scalars(resource) and name not in nested:
        unknown.append(name)
        return name, None
    if not brace:
        return name, None
    if name not in nested:
        raise SandboxError(400, f"Invalid fields parameter: {name} is not a nested resource")
    if not rest.endswith("}"):
        raise SandboxError(400, f"Invalid fields parameter: {part!r}")
    inner = rest[:-1]
    if "{" in inner:
        raise SandboxError(400, f"Invalid fields parameter: nesting deeper than one level is not supported ({part})")
    target = _scalars(nested[name])
    subfields = tuple(sub.strip() for sub in inner.split(",") if sub.strip())
    unknown.extend(f"{name}{{{sub}}}" for sub in subfields if sub not in target)
    return name, subfields


@lru_cache(maxsize=1024)
def parse_fields(resource: str, text: str | None) -> FieldSelection:
    """Parse and check a `fields=` value for a resource; without one, Clio returns id and etag.

    Raises:
        SandboxError: 400 naming any unknown field, a second nesting level, or malformed braces.
    """
    if text is None or not text.strip():
        return FieldSelection(resource, _ID_ONLY)
    unknown: list[str] = []
    items = tuple(_parse_field(resource, part, unknown) for part in _split_top_level(text))
    if unknown:
        raise SandboxError(400, f"Invalid fields parameter: unknown field(s) {', '.join(unknown)}")
    return FieldSelection(resource, items)


def _default_nested(target: str) -> tuple[str, ...]:
    return _DEFAULT_NESTED.get(target, ("id", "etag"))
