"""The resource catalog as a networkx graph: documents, selection, ranking and roadmaps."""

from wayfinder.catalog.applies import Applies, TopicOffer, what_applies
from wayfinder.catalog.graph import CatalogGraph, RoadmapItem, Selection
from wayfinder.catalog.model import CatalogDoc, ResourceDoc, ResourceSpec, TopicDoc, TopicSpec

__all__ = ["Applies", "CatalogDoc", "CatalogGraph", "ResourceDoc", "ResourceSpec", "RoadmapItem", "Selection",
           "TopicDoc", "TopicOffer", "TopicSpec", "what_applies"]
