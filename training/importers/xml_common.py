"""Safe, streaming XML reading shared by the TCX and GPX importers.

``defusedxml`` with ``forbid_dtd=True`` rejects any document type declaration, so entity expansion bombs
("billion laughs", quadratic blow-up) and external entities (XXE, network or file access) never reach the
parser's expansion step; entities and external references are forbidden as well for belt and braces. The
document is read with ``iterparse`` and each sample element is cleared once read, so memory stays flat on
large files, and an error anywhere (also after the last sample) raises rather than returning part of a file.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from training.importers.base import ActivityFileError


def local_name(tag: str) -> str:
    """The tag without its ``{namespace}``: TCX and GPX files use several namespace prefixes for one name."""
    return tag.rpartition("}")[2]


def iter_closed_elements(data: bytes, *, root: str, what: str) -> Iterator[tuple[Element, list[str]]]:
    """Yield ``(element, path)`` as each element closes; ``path`` lists local names from the root to it.

    The consumer may clear the element. Raises :class:`ActivityFileError`: ``unsupported_format`` when the
    root element is not ``root``, ``forbidden_xml`` for a DTD, entity or external reference, ``malformed``
    for anything the XML parser rejects.
    """
    path: list[str] = []
    try:
        for event, element in iterparse(
            io.BytesIO(data),
            events=("start", "end"),
            forbid_dtd=True,
            forbid_entities=True,
            forbid_external=True,
        ):
            if event == "start":
                path.append(local_name(element.tag))
                if len(path) == 1 and path[0] != root:
                    raise ActivityFileError(
                        "unsupported_format", f"not a {what} file: root element is <{path[0][:40]}>"
                    )
                continue
            yield element, path
            path.pop()
    except DefusedXmlException as exc:
        raise ActivityFileError(
            "forbidden_xml", f"{what} file uses a DTD, entities or external references ({type(exc).__name__})"
        ) from exc
    except ParseError as exc:
        raise ActivityFileError("malformed", f"{what} file is not well-formed XML: {exc}") from exc
    except RecursionError as exc:
        raise ActivityFileError("malformed", f"{what} file is nested too deeply") from exc
