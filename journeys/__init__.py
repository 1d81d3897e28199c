"""The journey language and the pure core: events, profiles, definitions, the engine and the mailbox."""

from wayfinder.journeys._problems import DefinitionError, Problem
from wayfinder.journeys._yaml import Document, load_documents
from wayfinder.journeys.definitions import Definitions
from wayfinder.journeys.effects import Effect, MailboxInput, Timer
from wayfinder.journeys.engine import Engine, Outcome
from wayfinder.journeys.events import CloudEvent, DecodeError, decode_event, iso
from wayfinder.journeys.loader import Sources, load, load_or_raise
from wayfinder.journeys.mailbox import Mailbox, MailboxOutcome
from wayfinder.journeys.profile import Profile
from wayfinder.journeys.records import DeadLetter, Message, Task
from wayfinder.journeys.state import EmployeeState, MailboxState

__all__ = [
    "CloudEvent",
    "DeadLetter",
    "DecodeError",
    "DefinitionError",
    "Definitions",
    "Document",
    "Effect",
    "EmployeeState",
    "Engine",
    "Mailbox",
    "MailboxInput",
    "MailboxOutcome",
    "MailboxState",
    "Message",
    "Outcome",
    "Problem",
    "Profile",
    "Sources",
    "Task",
    "Timer",
    "decode_event",
    "iso",
    "load",
    "load_documents",
    "load_or_raise",
]
