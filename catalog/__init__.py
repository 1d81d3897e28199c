"""The resource catalog as a networkx graph: documents, selection, ranking and roadmaps."""

from wayfinder.catalog.graph import CatalogGraph, RoadmapItem, Selection
from wayfinder.catalog.model import CatalogDoc, ResourceDoc, ResourceSpec, TopicDoc, TopicSpec

__all__ = ["CatalogDoc", "CatalogGraph", "ResourceDoc", "ResourceSpec", "RoadmapItem", "Selection", "TopicDoc",
           "TopicSpec"]
