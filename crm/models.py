"""Every model, imported in one place so that Alembic and the app see the whole schema."""

from crm.audit import AuditEvent
from crm.auth.models import ApiToken, User
from crm.channels.models import Delivery, Source
from crm.experiments.models import Experiment, ExperimentAssignment
from crm.personalization.catalog_db import ProductBuild, ProductCount, ProductPair, SegmentProduct
from crm.personalization.models import ActionFeedback
from crm.profiles.models import (
    Case,
    Customer,
    CustomerAttribute,
    DuplicateSuggestion,
    Identifier,
    Interaction,
    InteractionPayload,
    MatchKey,
    MatchProfile,
    Merge,
    MergeBlock,
    PrivacyRequest,
)
from crm.search.models import OutboxEntry
from crm.segments.models import OutboundDelivery, Segment, SegmentEvent, SegmentMember, SegmentWebhook

__all__ = [
    "ActionFeedback",
    "ApiToken",
    "AuditEvent",
    "Case",
    "Customer",
    "CustomerAttribute",
    "Delivery",
    "DuplicateSuggestion",
    "Experiment",
    "ExperimentAssignment",
    "Identifier",
    "Interaction",
    "InteractionPayload",
    "MatchKey",
    "MatchProfile",
    "Merge",
    "MergeBlock",
    "OutboundDelivery",
    "OutboxEntry",
    "PrivacyRequest",
    "ProductBuild",
    "ProductCount",
    "ProductPair",
    "Segment",
    "SegmentEvent",
    "SegmentMember",
    "SegmentProduct",
    "SegmentWebhook",
    "Source",
    "User",
]
