"""The resource catalog as a networkx graph: documents, selection, ranking, roadmaps and learning paths."""

from wayfinder.catalog.applies import Applies, TopicOffer, what_applies
from wayfinder.catalog.feedback import CatalogFeedback, Standing
from wayfinder.catalog.graph import CatalogGraph, RankReason, RoadmapItem, Selection, preferred_format
from wayfinder.catalog.model import (
    CatalogDoc,
    CatalogFeedbackDoc,
    ResourceCounts,
    ResourceDoc,
    ResourceSpec,
    RoleDoc,
    RoleSpec,
    TopicDoc,
    TopicSpec,
    skill_key,
)
from wayfinder.catalog.paths import PathPlan, plan_path, reachable_skills

__all__ = ["Applies", "CatalogDoc", "CatalogFeedback", "CatalogFeedbackDoc", "CatalogGraph", "PathPlan",
           "RankReason", "ResourceCounts", "ResourceDoc", "ResourceSpec", "RoadmapItem", "RoleDoc", "RoleSpec",
           "Selection", "Standing", "TopicDoc", "TopicOffer", "TopicSpec", "plan_path", "preferred_format",
           "reachable_skills", "skill_key", "what_applies"]
