"""The mapping engine: declarative mappings (``mappings/<kind>/*.toml``) applied to raw records.

A mapping names the entity set it reads, the class and IRI template of the resource it writes, the
navigation properties it needs, and one ``[[fields]]`` table per property. The format is documented
in ``mappings/README.md``. The engine is pure: a raw record in, quads out, no I/O.
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
import re
import tomllib
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pyoxigraph as ox

from ..exceptions import ConfigError, MappingError
from ..settings import ODATA_ENTITIES
from ..vocab import MEA, PROV, RDF, XSD, expand
from . import targets, values
from .countries import country_code, country_iri, treaty_iri
from .prepare import PREPARERS

__all__ = [
    "FieldSpec",
    "MappedRecord",
    "MappingContext",
    "MappingRegistry",
    "RecordMapping",
    "encode_segment",
]

log = logging.getLogger(__name__)

_RDF_TYPE = ox.NamedNode(RDF + "type")
_DERIVED = ox.NamedNode(PROV + "wasDerivedFrom")
_GENERATED = ox.NamedNode(PROV + "wasGeneratedBy")
_HARVEST_SOURCE = ox.NamedNode(MEA + "harvestSource")
_MODIFIED = "http://purl.org/dc/terms/modified"
_TARGET_LINK = ox.NamedNode(MEA + "targetLink")
_XSD_STRING = ox.NamedNode(XSD + "string")
_XSD_DATE = ox.NamedNode(XSD + "date")
_XSD_DATETIME = ox.NamedNode(XSD + "dateTime")
_UNRESERVED_RE = re.compile(r"[A-Za-z0-9_.~-]*")  # what quote() leaves as it is
FIELD_TYPES = frozenset(
    {
        "string",
        "langstring",
        "date",
        "int",
        "double",
        "bool",
        "iri",
        "email",
        "country",
        "treaty",
        "ref",
        "template",
        "nested",
        "mimetype",
        "text",
        "aichi",
        "gbf",
        "gbf-goal",
    }
)
#: Kunming-Montreal GBF goals (https://w3id.org/mea/gbf/goal-A..D): ``GBF-GOAL-A``, ``Goal B``.
_GBF_GOAL_PREFIX = "https://w3id.org/mea/gbf/goal-"
_GBF_GOAL_RE = re.compile(r"^(?:(?:km)?gbf[\s_-]*)?(?:goal|g)[\s_-]*([a-d])$", re.I)
_GBF_GOALS = frozenset("ABCD")


def encode_segment(value: str) -> str:
    """A source id as one safe IRI path segment (stable: same id, same segment)."""
    text = value.strip()
    return text if _UNRESERVED_RE.fullmatch(text) else quote(text, safe="-._~")


def slug(value: str) -> str:
    """A readable IRI segment: lower case, runs of other characters as ``-``
    (``"CBD/COP/15/04"`` -> ``"cbd-cop-15-04"``)."""
    return re.sub(r"[^a-z0-9._~]+", "-", value.strip().lower()).strip("-") or "-"


def _preparer_name(name: Any, where: str) -> str | None:
    if name is not None and name not in PREPARERS:
        raise ConfigError(f"{where}: unknown prepare {name!r} (known: {', '.join(PREPARERS)})")
    return None if name is None else str(name)


@dataclass(frozen=True, kw_only=True)
class MappingContext:
    """What a mapping needs besides the record: where IRIs go and which run writes them."""

    base_iri: str
    source: str
    run_iri: str | None = None

    @property
    def source_iri(self) -> str:
        return f"{self.base_iri}source/{encode_segment(self.source)}"


@dataclass(frozen=True, kw_only=True)
class MappedRecord:
    """One record as RDF: its IRI, its own named graph, the quads and any warnings."""

    iri: str
    graph: str
    quads: list[ox.Quad]
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class FieldSpec:
    """One ``[[fields]]`` table of a mapping file."""

    source: str
    prop: ox.NamedNode
    type: str
    aliases: tuple[str, ...] = ()
    required: bool = False
    item: str | None = None
    item_only: bool = False
    template: str | None = None
    lang: str = "und"
    lowercase: bool = False
    strict: bool = False
    nested: RecordMapping | None = None
    # another field of the same mapping writes the same property: values are de-duplicated
    # across both (``treaties`` and the treaties of ``roles``)
    shared: bool = False

    @classmethod
    def parse(cls, table: Mapping[str, Any], where: str) -> FieldSpec:
        """:raises ConfigError: when the table is not a valid field specification."""
        try:
            kind = str(table.get("type", "string"))
            if kind not in FIELD_TYPES:
                raise ConfigError(f"{where}: unknown type {kind!r}")
            nested = RecordMapping.parse_nested(table, where) if kind == "nested" else None
            return cls(
                source=str(table["from"]),
                prop=ox.NamedNode(expand(str(table["to"]))),
                type=kind,
                aliases=tuple(table.get("aliases", ())),
                required=bool(table.get("required", False)),
                item=table.get("item"),
                item_only=bool(table.get("item_only", False)),
                template=table.get("template"),
                lang=str(table.get("lang", "und")),
                lowercase=bool(table.get("lowercase", False)),
                strict=bool(table.get("strict", False)),
                nested=nested,
            )
        except (KeyError, ValueError) as exc:
            raise ConfigError(f"{where}: bad field table ({exc})") from exc

    def raw_value(self, record: Mapping[str, Any]) -> Any:
        for name in (self.source, *self.aliases):
            value = values.lookup(record, name)
            if value is not None:
                return value
        return None


@dataclass(frozen=True, kw_only=True)
class RecordMapping:
    """A compiled mapping file: entity set, class, IRI template, navigations and fields."""

    entity: str
    cls: ox.NamedNode
    iri: str
    fields: tuple[FieldSpec, ...]
    navigations: tuple[str, ...] = ()
    has_updated: bool = True
    prepare: str | None = None
    provenance: bool = False
    each: str | None = None
    key: tuple[str, ...] = ()
    digest: str = ""
    path: Path | None = None

    @classmethod
    def load(cls, path: Path) -> RecordMapping:
        """Read and compile one mapping file.

        :raises ConfigError: when the file is not a valid mapping.
        """
        try:
            raw = path.read_bytes()
            table = tomllib.loads(raw.decode("utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read mapping {path}: {exc}") from exc
        mapping = cls._from_table(table, str(path))
        digest = hashlib.sha256(raw).hexdigest()[:16]
        return RecordMapping(**{**mapping.__dict__, "digest": digest, "path": path})

    @classmethod
    def parse_nested(cls, table: Mapping[str, Any], where: str) -> RecordMapping:
        return cls._from_table({**table, "entity": table.get("from", "")}, where)

    @classmethod
    def _from_table(cls, table: Mapping[str, Any], where: str) -> RecordMapping:
        try:
            fields = _mark_shared(
                FieldSpec.parse(f, f"{where} field #{i + 1}")
                for i, f in enumerate(table.get("fields", []))
            )
            return cls(
                entity=str(table["entity"]),
                cls=ox.NamedNode(expand(str(table["class"]))),
                iri=str(table["iri"]),
                fields=fields,
                navigations=tuple(table.get("navigations", ())),
                has_updated=bool(table.get("has_updated", True)),
                prepare=_preparer_name(table.get("prepare"), where),
                provenance=bool(table.get("provenance", False)),
                each=None if table.get("each") is None else str(table["each"]),
                key=tuple(str(name) for name in table.get("key", ())),
            )
        except KeyError as exc:
            raise ConfigError(f"{where}: missing key {exc}") from exc

    @property
    def modified_fields(self) -> tuple[str, ...]:
        """The row fields (and their aliases) the mapping reads the record's last
        modification from (``dcterms:modified``): the provider's change marker."""
        return tuple(
            name
            for spec in self.fields
            if spec.prop.value == _MODIFIED and spec.nested is None
            for name in (spec.source, *spec.aliases)
        )

    # -- applying ----------------------------------------------------------------------------

    def record_id(self, record: Mapping[str, Any]) -> str:
        """The source's own id of a record (``id`` or ``Id``).

        :raises MappingError: when the record has none.
        """
        value = values.lookup(record, "id")
        text = values.clean_text(value)
        if text is None:
            raise MappingError(f"{self.entity} record has no id")
        return text

    def graph_iri(self, ctx: MappingContext, record_id: str) -> str:
        entity = self.entity.lower()
        return (
            f"{ctx.base_iri}graph/{encode_segment(ctx.source)}/{entity}/{encode_segment(record_id)}"
        )

    def resource_iri(self, ctx: MappingContext, record_id: str) -> str:
        return self.iri.format_map(_IriFields(ctx, record_id))

    def map(self, record: Mapping[str, Any], ctx: MappingContext, *, url: str) -> MappedRecord:
        """Map one raw record to the quads of its own named graph.

        :param url: the URL the record was harvested from (``prov:wasDerivedFrom``).
        :raises MappingError: when a required value is missing or unreadable.
        """
        if self.prepare:
            record = PREPARERS[self.prepare](record)
        record_id = self.record_id(record)
        graph = ox.NamedNode(self.graph_iri(ctx, record_id))
        subject = ox.NamedNode(self.resource_iri(ctx, record_id))
        writer = _Writer(graph, ctx, record_id, url)
        writer.add(subject, _RDF_TYPE, self.cls)
        self._write_fields(record, subject, writer)
        _write_provenance(writer, subject, url, ctx)
        return MappedRecord(
            iri=subject.value,
            graph=graph.value,
            quads=writer.quads,
            warnings=tuple(writer.warnings),
        )

    def _write_fields(self, record: Mapping[str, Any], subject: ox.NamedNode, w: _Writer) -> None:
        for spec in self.fields:
            try:
                count = _write_field(spec, record, subject, w)
            except ValueError as exc:
                if spec.required or spec.strict:
                    raise MappingError(f"{spec.source}: {exc}", record_id=w.record_id) from exc
                w.warnings.append(f"{spec.source}: {exc}; value dropped")
                continue
            if spec.required and count == 0:
                raise MappingError(f"required field {spec.source!r} is missing or empty")


def _mark_shared(specs: Iterator[FieldSpec]) -> tuple[FieldSpec, ...]:
    """The field specs, those whose property another field also writes marked ``shared``."""
    fields = tuple(specs)
    counts = Counter(spec.prop for spec in fields)
    return tuple(replace(spec, shared=True) if counts[spec.prop] > 1 else spec for spec in fields)


class _IriFields(dict[str, str]):
    """The fields of a resource IRI template, each made only when the template names it."""

    def __init__(self, ctx: MappingContext, record_id: str) -> None:
        super().__init__()
        self.ctx, self.record_id = ctx, record_id

    def __missing__(self, key: str) -> str:
        if key == "base":
            return self.ctx.base_iri
        if key == "source":
            return encode_segment(self.ctx.source)
        if key == "id":
            return encode_segment(self.record_id)
        if key == "id_slug":
            return slug(self.record_id)
        if key == "treaty":
            return treaty_iri(self.record_id)
        raise KeyError(key)


class _Writer:
    """Collects the quads of one record graph, and the warnings met on the way."""

    def __init__(self, graph: ox.NamedNode, ctx: MappingContext, record_id: str, url: str) -> None:
        self.graph = graph
        self.ctx = ctx
        self.record_id = record_id
        self.derived = values.parse_iri(url)
        self.quads: list[ox.Quad] = []
        self.warnings: list[str] = []
        # (subject, property, value) written by ``shared`` fields, made only when one writes
        self.shared: set[tuple[ox.NamedNode, ox.NamedNode, ox.NamedNode | ox.Literal]] = set()

    def add(self, s: ox.NamedNode, p: ox.NamedNode, o: ox.NamedNode | ox.Literal) -> None:
        self.quads.append(ox.Quad(s, p, o, self.graph))

    def add_once(self, s: ox.NamedNode, p: ox.NamedNode, o: ox.NamedNode | ox.Literal) -> bool:
        """Add a value of a ``shared`` field unless a field wrote it already."""
        if (s, p, o) in self.shared:
            return False
        self.shared.add((s, p, o))
        self.add(s, p, o)
        return True


def _write_provenance(w: _Writer, subject: ox.NamedNode, url: str, ctx: MappingContext) -> None:
    if w.derived:
        w.add(subject, _DERIVED, ox.NamedNode(w.derived))
    w.add(subject, _HARVEST_SOURCE, ox.NamedNode(ctx.source_iri))
    if ctx.run_iri:
        w.add(subject, _GENERATED, ox.NamedNode(ctx.run_iri))


def _items(spec: FieldSpec, value: Any, warnings: list[str] | None = None) -> list[Any]:
    """The values of a field; ``item`` picks a key of each element (and a list there, as in
    CBD's ``roles: [{"treaty": ..., "roles": [...]}]``, is flattened). A plain element is taken
    as it is, unless ``item_only``: then it is skipped (noted in ``warnings``)."""
    items = values.as_list(value)
    if not spec.item:
        return items
    picked: list[Any] = []
    for item in items:
        if isinstance(item, Mapping):
            found = values.lookup(item, spec.item)
            picked.extend(found if isinstance(found, list) else [found])
        elif not spec.item_only:
            picked.append(item)
        elif warnings is not None and item is not None:
            warnings.append(f"{spec.source}: {str(item)[:40]!r} has no {spec.item!r}; skipped")
    return picked


def _write_field(
    spec: FieldSpec, record: Mapping[str, Any], subject: ox.NamedNode, w: _Writer
) -> int:
    """Write one field's values; returns how many were written."""
    if spec.type == "template":
        return _write_terms(spec, subject, w, [_template_literal(spec, record)])
    value = spec.raw_value(record)
    if spec.type == "nested":
        return _write_nested(spec, value, subject, w)
    if spec.type in ("langstring", "text"):
        pairs = values.parse_langstrings(value, spec.lang)
        if spec.type == "text":
            pairs = [(plain, lang) for t, lang in pairs if (plain := values.html_to_text(t))]
        return _write_terms(spec, subject, w, [ox.Literal(t, language=lang) for t, lang in pairs])
    if spec.type in ("aichi", "gbf"):
        return _write_targets(spec, value, subject, w)
    convert = _CONVERTERS[spec.type]
    terms = [convert(spec, item, w.ctx) for item in _items(spec, value, w.warnings)]
    return _write_terms(spec, subject, w, terms)


def _write_terms(
    spec: FieldSpec,
    subject: ox.NamedNode,
    w: _Writer,
    terms: Sequence[ox.NamedNode | ox.Literal | None],
) -> int:
    if spec.shared:
        return sum(w.add_once(subject, spec.prop, term) for term in terms if term is not None)
    if len(terms) == 1:  # the common case: nothing to de-duplicate
        if terms[0] is None:
            return 0
        w.add(subject, spec.prop, terms[0])
        return 1
    seen: set[ox.NamedNode | ox.Literal] = set()
    for term in terms:
        if term is not None and term not in seen:
            seen.add(term)
            w.add(subject, spec.prop, term)
    return len(seen)


def _write_targets(spec: FieldSpec, value: Any, subject: ox.NamedNode, w: _Writer) -> int:
    """Target tags given by the source: the shortcut property and a qualified mea:TargetLink
    (method ``"source"``, score 1). Values that name no target are left out silently (keyword
    lists mix target names with other terms)."""
    count = 0
    for item in _items(spec, value, w.warnings):
        number = targets.target_number(item, spec.type)
        if number is None:
            continue
        concept = ox.NamedNode(targets.target_iri(spec.type, number))
        w.add(subject, spec.prop, concept)
        link = ox.NamedNode(f"{subject.value}/link/{spec.type}-{number}")
        for p, o in targets.link_triples(concept, "source", 1.0, (), w.ctx.run_iri):
            w.add(link, p, o)
        w.add(subject, _TARGET_LINK, link)
        count += 1
    return count


def _write_nested(spec: FieldSpec, value: Any, subject: ox.NamedNode, w: _Writer) -> int:
    nested = spec.nested
    assert nested is not None
    count = 0
    written: set[str] = set()
    for index, item in _nested_items(spec, value, w):
        given: dict[str, Any] = {"record": subject.value, "index": index}
        if nested.key:
            given["key"] = _node_key(nested, item, w.ctx)
        iri = nested.iri.format_map(_NestedFields(item, **given))
        if iri in written:  # only with `key`: the same node given twice
            w.warnings.append(f"{spec.source}: item {index} repeats an earlier one; skipped")
            continue
        if nested.key:
            written.add(iri)
        node = ox.NamedNode(iri)
        w.add(subject, spec.prop, node)
        w.add(node, _RDF_TYPE, nested.cls)
        if nested.provenance and w.derived:
            w.add(node, _DERIVED, ox.NamedNode(w.derived))
        nested._write_fields(item, node, w)
        count += 1
    return count


def _nested_items(
    spec: FieldSpec, value: Any, w: _Writer
) -> Iterator[tuple[int, Mapping[str, Any]]]:
    """(index, item) of each node to write: the objects of the list (``index`` counts every
    element), or with ``each``, one item per element of that list-valued key of each object."""
    assert spec.nested is not None
    objects: list[tuple[int, Mapping[str, Any]]] = []
    for index, item in enumerate(values.as_list(value), start=1):
        if isinstance(item, Mapping):
            objects.append((index, item))
        elif values.clean_text(item) is not None:
            w.warnings.append(f"{spec.source}: item {index} is not an object; skipped")
    if spec.nested.each is None:
        return iter(objects)
    return _exploded((item for _, item in objects), spec.nested.each, spec.source, w)


def _exploded(
    objects: Iterator[Mapping[str, Any]], each: str, source: str, w: _Writer
) -> Iterator[tuple[int, Mapping[str, Any]]]:
    """One item per element of ``each`` (matched case-insensitively) of each object, with that
    element in place of the list; empty or structured elements are skipped with a warning."""
    index = 0
    for item in objects:
        name = next((str(k) for k in item if str(k).lower() == each.lower()), each)
        for element in values.as_list(item.get(name)):
            if values.clean_text(element) is None:
                w.warnings.append(f"{source}: an empty or structured {each!r} entry skipped")
                continue
            index += 1
            yield index, {**item, name: element}


def _node_key(nested: RecordMapping, item: Mapping[str, Any], ctx: MappingContext) -> str:
    """A short digest of the values of the ``key`` fields of a nested item, as the mapping
    writes them (so ``"Cartagena"`` and ``"cartagena"`` give the same node)."""
    parts = []
    for name in nested.key:
        spec = next((f for f in nested.fields if f.source.lower() == name.lower()), None)
        parts.append(_key_text(spec, item, ctx) if spec else _plain(values.lookup(item, name)))
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:12]


def _key_text(spec: FieldSpec, item: Mapping[str, Any], ctx: MappingContext) -> str:
    raw = spec.raw_value(item)
    convert = _CONVERTERS.get(spec.type)
    if convert is None:
        return _plain(raw)
    try:
        terms = [convert(spec, value, ctx) for value in _items(spec, raw)]
    except ValueError:
        return _plain(raw)
    return "\x1e".join(sorted(str(term) for term in terms if term is not None))


def _plain(value: Any) -> str:
    return values.clean_text(value) or ""


class _NestedFields(dict[str, Any]):
    """The fields of a nested node's IRI template: ``{record}``, ``{index}``, ``{key}`` (given),
    plus any scalar field of the item, encoded only when the template names it (the last of the
    keys that read the same, as a dict built from them)."""

    def __init__(self, item: Mapping[str, Any], **given: Any) -> None:
        super().__init__(given)
        self.item = item

    def __missing__(self, key: str) -> str:
        for name, value in reversed(list(self.item.items())):
            if str(name) == key and isinstance(value, str | int):
                return encode_segment(str(value))
        raise KeyError(key)


def _template_literal(spec: FieldSpec, record: Mapping[str, Any]) -> ox.Literal | None:
    assert spec.template is not None
    parts = {
        name: values.clean_text(values.lookup(record, name)) or ""
        for name in _template_names(spec.template)
    }
    text = " ".join(spec.template.format(**parts).split())
    return ox.Literal(text) if text else None


def _template_names(template: str) -> list[str]:
    import string

    return [name for _, name, _, _ in string.Formatter().parse(template) if name]


Converter = Callable[[FieldSpec, Any, MappingContext], ox.NamedNode | ox.Literal | None]


def _string(spec: FieldSpec, item: Any, ctx: MappingContext) -> ox.Literal | None:
    if type(item) is not str and isinstance(item, Mapping | list):
        raise ValueError("expected text, got a structure")
    text = values.clean_text(item)
    if text is None:
        return None
    return ox.Literal(text.lower() if spec.lowercase else text)


def _mimetype(spec: FieldSpec, item: Any, ctx: MappingContext) -> ox.Literal | None:
    """A media type; bare extensions (``"pdf"``, as BRS sends) become ``application/pdf``."""
    text = values.clean_text(item)
    if text is None:
        return None
    if "/" not in text:
        guessed, _ = mimetypes.guess_type("file." + text.lower().lstrip("."))
        text = guessed or text
    return ox.Literal(text.lower())


def _date(spec: FieldSpec, item: Any, ctx: MappingContext) -> ox.Literal | None:
    parsed = values.parse_date(item)
    if parsed is None:
        return None
    if isinstance(parsed, datetime):
        return ox.Literal(parsed.strftime("%Y-%m-%dT%H:%M:%SZ"), datatype=_XSD_DATETIME)
    return ox.Literal(parsed.isoformat(), datatype=_XSD_DATE)


def _int(spec: FieldSpec, item: Any, ctx: MappingContext) -> ox.Literal | None:
    number = values.parse_int(item)
    return None if number is None else ox.Literal(number)


def _double(spec: FieldSpec, item: Any, ctx: MappingContext) -> ox.Literal | None:
    number = values.parse_float(item)
    return None if number is None else ox.Literal(number)


def _bool(spec: FieldSpec, item: Any, ctx: MappingContext) -> ox.Literal | None:
    flag = values.parse_bool(item)
    return None if flag is None else ox.Literal(flag)


def _iri(spec: FieldSpec, item: Any, ctx: MappingContext) -> ox.NamedNode | None:
    if values.clean_text(item) is None:
        return None
    iri = values.parse_iri(item)
    if iri is None:
        raise ValueError(f"not an http(s) URL: {str(item)[:60]!r}")
    return ox.NamedNode(iri)


def _email(spec: FieldSpec, item: Any, ctx: MappingContext) -> ox.NamedNode | None:
    text = values.clean_text(item)
    if text is None:
        return None
    address = text.removeprefix("mailto:").strip()
    if "@" not in address or " " in address:
        raise ValueError(f"not an e-mail address: {text[:60]!r}")
    return ox.NamedNode("mailto:" + quote(address, safe="@.+-_~!$&'*=?^`{|}"))


def _country(spec: FieldSpec, item: Any, ctx: MappingContext) -> ox.NamedNode | None:
    text = values.clean_text(item)
    if text is None:
        return None
    code = country_code(text)
    if code is None:
        raise ValueError(f"unknown country code {text[:20]!r}")
    return ox.NamedNode(country_iri(code))


def _treaty(spec: FieldSpec, item: Any, ctx: MappingContext) -> ox.NamedNode | None:
    if isinstance(item, Mapping | list):
        raise ValueError("expected a treaty identifier, got a structure")
    text = values.clean_text(item)
    return None if text is None else ox.NamedNode(treaty_iri(text))


def _gbf_goal(spec: FieldSpec, item: Any, ctx: MappingContext) -> ox.NamedNode | None:
    """A Kunming-Montreal GBF goal: ``GBF-GOAL-A``, ``Goal A``, ``A`` or the goal's IRI."""
    text = values.clean_text(item)
    if text is None:
        return None
    bare = text.removeprefix(_GBF_GOAL_PREFIX)
    match = _GBF_GOAL_RE.match(bare)
    letter = (match.group(1) if match else bare).upper()
    if letter not in _GBF_GOALS:
        raise ValueError(f"not a GBF goal: {text[:40]!r}")
    return ox.NamedNode(_GBF_GOAL_PREFIX + letter)


def _ref(spec: FieldSpec, item: Any, ctx: MappingContext) -> ox.NamedNode | None:
    text = values.clean_text(item)
    if text is None:
        return None
    assert spec.template is not None
    return ox.NamedNode(
        spec.template.format(
            base=ctx.base_iri, source=encode_segment(ctx.source), value=encode_segment(text)
        )
    )


_CONVERTERS: dict[str, Converter] = {
    "string": _string,
    "mimetype": _mimetype,
    "date": _date,
    "int": _int,
    "double": _double,
    "bool": _bool,
    "iri": _iri,
    "email": _email,
    "country": _country,
    "treaty": _treaty,
    "ref": _ref,
    "gbf-goal": _gbf_goal,
}


@dataclass
class MappingRegistry:
    """All mappings of one source kind, by entity set."""

    kind: str
    mappings: dict[str, RecordMapping] = field(default_factory=dict)

    @classmethod
    def load(cls, directory: Path, kind: str) -> MappingRegistry:
        """Load every ``*.toml`` in ``directory / kind``.

        :raises ConfigError: when the folder is missing or a file is invalid.
        """
        folder = directory / kind
        if not folder.is_dir():
            raise ConfigError(f"no mappings for source kind {kind!r} in {folder}")
        registry = cls(kind=kind)
        for path in sorted(folder.glob("*.toml")):
            mapping = RecordMapping.load(path)
            registry.mappings[mapping.entity] = mapping
        return registry

    def get(self, entity: str) -> RecordMapping | None:
        return self.mappings.get(entity)

    def entity_sets(self) -> tuple[str, ...]:
        """The entity sets this kind maps, in harvest order (treaties and meetings before the
        decisions that point at them)."""
        order = {name: i for i, name in enumerate(ODATA_ENTITIES)}
        return tuple(sorted(self.mappings, key=lambda e: order.get(e, len(order))))

    @property
    def digest(self) -> str:
        joined = "".join(m.digest for m in self.mappings.values())
        return hashlib.sha256(joined.encode()).hexdigest()[:16]
