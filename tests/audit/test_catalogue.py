"""Every event type Astro can record is documented in docs/architecture.md."""

from pathlib import Path

from audit.catalogue import EVENT_TYPES
from audit.models import Category, Severity

DOC = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"


def test_catalogue_entries_are_valid():
    for name, spec in EVENT_TYPES.items():
        assert name.split(".")[0], name
        assert spec.category in Category.values, name
        assert spec.severity in Severity.values, name
        assert spec.meaning.endswith("."), name


def test_every_event_type_is_in_the_architecture_doc():
    text = DOC.read_text()
    missing = [name for name in EVENT_TYPES if f"`{name}`" not in text]
    assert not missing, f"document these event types in docs/architecture.md: {missing}"
