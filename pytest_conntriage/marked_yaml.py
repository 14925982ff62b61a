"""YAML → plain data plus the line:column of every key and value, loaded safely and bounded.

The one loader of every document the plugin reads: inventories and runbooks.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeAlias

import yaml
from yaml.error import Mark
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .document_errors import DocumentError, Location
from .heap import collector_paused

# Where a value sits in a document: ("services", "api", "ports", 0).
DocPath: TypeAlias = "tuple[str | int, ...]"
# The JSON-like data a document holds.
Data: TypeAlias = "bool | int | float | str | list[Data] | dict[str, Data] | None"
# Rewrites one string scalar's text; returns the new text and whether YAML should decide
# its type again (as if the new text had been written unquoted). Raises ValueError with a
# message for the user.
Substitute = Callable[[str], tuple[str, bool]]

_NULL = "tag:yaml.org,2002:null"
_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
_COLLECTIONS = {"tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"}
# Dates would reach the schema as datetime objects and '=' as a special "value" tag; in our
# documents both are only ever meant as text.
_NOT_IMPLICIT = {"tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:value"}
# YAML 1.1 also reads 0443 (octal), 0x50, 0b101, 1_000 and 22:22 (base 60) as numbers:
# `ports: [22:22, 0443]` silently became 1342 and 291. Only decimal numbers are numbers
# here; those other forms stay text, and the schema's message says how YAML 1.1 would
# have read them (yaml11_number_hint).
_DECIMAL_INT = re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$")
_DECIMAL_FLOAT = re.compile(
    r"^(?:[-+]?[0-9]+\.[0-9]*(?:[eE][-+]?[0-9]+)?|\.[0-9]+(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)
_DECIMAL = {_INT: _DECIMAL_INT, _FLOAT: _DECIMAL_FLOAT}

# Bounds that keep any document, however hostile, to a fraction of a second and a few
# tens of MB before it is rejected (docs/inventory.md, "Limits").
MAX_DOCUMENT_CHARS = 2 * 1024 * 1024
# Collections inside collections, aliases followed: an inventory needs 6, a runbook 7.
MAX_DEPTH = 64
# Keys and values, written or once every alias and merge key is expanded: 10,000
# services written out in full need ~220,000. Composing and converting cost ~0.5 KB
# and ~10 µs each: the cap keeps a file to ~150 MB and a few seconds.
MAX_NODES = 250_000
# Digits in an integer: more than any port, count or duration needs, and far below
# Python's 4,300-digit conversion limit.
MAX_INT_DIGITS = 18

# Inside [ ] and { } YAML reads "{", "," or ":" as structure, so `ports: [${PORT}]` would
# not parse. Before parsing, the indicator characters of each `${...}` reference are
# swapped one for one with private-use characters (same length: marks stay exact), and
# swapped back in every key and scalar. Only the reference text is shielded; the values
# it stands for are substituted after parsing and never seen by the YAML parser.
_REFERENCE = re.compile(r"\$\{[^}\n]*\}")
_INDICATORS = "{}[],#:"
_SHIELDS = "".join(chr(0xE000 + i) for i in range(len(_INDICATORS)))
_SHIELD = str.maketrans(_INDICATORS, _SHIELDS)
_UNSHIELD = str.maketrans(_SHIELDS, _INDICATORS)


class BoundedSafeLoader(yaml.SafeLoader):
    """PyYAML's SafeLoader whose composer stops at MAX_DEPTH and MAX_NODES (raising
    LimitExceeded), not at Python's recursion limit or the machine's memory."""

    def __init__(self, stream: str, noun: str) -> None:
        super().__init__(stream)
        self.noun = noun
        self.depth = 0
        self.nodes = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        # PyYAML composes recursively: ~3 frames a level, a RecursionError near 330 levels.
        self.depth += 1
        self.nodes += 1
        try:
            if self.depth > MAX_DEPTH + 1:  # a scalar in the deepest collection is fine
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise LimitExceeded(mark, TOO_DEEP)
            if self.nodes > MAX_NODES:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise LimitExceeded(mark, too_many(self.noun))
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


class _Loader(BoundedSafeLoader):
    """SafeLoader that composes nodes (with marks) and remembers explicitly tagged scalars."""

    yaml_implicit_resolvers = {  # noqa: RUF012  # PyYAML's own class attribute
        first: [
            (tag, _DECIMAL.get(tag, regexp))
            for tag, regexp in resolvers
            if tag not in _NOT_IMPLICIT
        ]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def __init__(self, stream: str, noun: str) -> None:
        super().__init__(stream, noun)
        self.explicitly_tagged: set[int] = set()
        self.may_expand = _may_expand(stream)

    def compose_scalar_node(self, anchor: dict[object, Node]) -> ScalarNode:
        tag = self.peek_event().tag  # type: ignore[no-untyped-call]  # untyped in the stubs
        node = super().compose_scalar_node(anchor)
        if tag not in (None, "!"):
            self.explicitly_tagged.add(id(node))
        return node


try:
    from yaml._yaml import CParser
except ImportError:  # PyYAML built without libyaml: the pure-Python loader only
    CParser = None  # type: ignore[assignment, misc]


if CParser is not None:

    class _CLoader(CParser, yaml.constructor.SafeConstructor, yaml.resolver.Resolver):
        """libyaml composes the nodes (~10× faster, marks included); same resolvers as _Loader.

        Used only for text in which libyaml and PyYAML agree (see `_libyaml_may_differ`),
        and only when it succeeds: any error is reported by parsing again with _Loader,
        so messages and their line:column stay PyYAML's.
        """

        yaml_implicit_resolvers = _Loader.yaml_implicit_resolvers

        def __init__(self, stream: str, noun: str) -> None:
            CParser.__init__(self, stream)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)
            # Without a "!" in the text no node carries an explicit tag.
            self.explicitly_tagged: set[int] = set()
            self.may_expand = _may_expand(stream)


# Text where libyaml and PyYAML may read the same characters differently, or where the
# nodes alone cannot show what _Loader records: "!" (tags: _Loader remembers explicitly
# tagged scalars, libyaml's nodes cannot tell `!!str 1` from `'1'`), a tab (libyaml takes
# tabs as separators where PyYAML rejects them), "?" (libyaml reads `[a? b]` as one
# scalar, PyYAML as an error), "|" and ">" (libyaml takes `|# note` as a block scalar's
# header, PyYAML as an error), "%" (directives), a carriage return and the other line
# breaks ("\x85", "\u2028", "\u2029"), a byte order mark. Empty values, whose marks
# differ, are caught while converting (_LibyamlDiffers). bench/loader_equivalence.py
# checks both paths against each other on mutated inventories.
_LIBYAML_MAY_DIFFER = re.compile("[!\t?|>%\r\x85\u2028\u2029\ufeff]")


# Above this size a libyaml syntax error is reported as libyaml words it (same line:column
# rules) rather than parsing everything again with PyYAML (~5 s a megabyte under load).
_REPARSE_CHARS = 256 * 1024


class _LibyamlDiffers(Exception):
    """libyaml composed a node whose mark PyYAML would place elsewhere: parse with PyYAML."""


class LimitExceeded(Exception):
    """A document passed MAX_DEPTH or MAX_NODES at `mark`, before it was composed whole."""

    def __init__(self, mark: Mark, message: str) -> None:
        super().__init__(mark, message)
        self.mark = mark
        self.message = message


TOO_DEEP = (
    f"nested more than {MAX_DEPTH} levels deep (lists and mappings inside each other,"
    " aliases followed)"
)


def too_many(noun: str) -> str:
    """The message for a document (`noun`: "an inventory") with too many keys and values."""
    return (
        f"more than {MAX_NODES:,} keys and values are written by here; {noun} may hold"
        f" at most {MAX_NODES:,} (split it into several files)"
    )


def _count_written(text: str, noun: str) -> None:
    """Raise LimitExceeded where the text's MAX_NODES-th key or value is written.

    libyaml composes a whole document before anything can look at it (1,000,000 values
    took 3 s and 330 MB); its events are counted first, one at a time, in constant
    memory. A syntax error is left to the parse that follows.
    """
    parser = CParser(text)
    count = 0
    try:
        while parser.check_event():
            event = parser.get_event()
            if isinstance(event, _NODE_EVENTS):
                count += 1
                if count > MAX_NODES:
                    raise LimitExceeded(event.start_mark, too_many(noun))  # type: ignore[arg-type]
    except yaml.YAMLError:
        return
    finally:
        parser.dispose()


_NODE_EVENTS = (yaml.ScalarEvent, yaml.SequenceStartEvent, yaml.MappingStartEvent, yaml.AliasEvent)


def yaml11_number_hint(text: str) -> str | None:
    """How YAML 1.1 would have read `text` as a number that is not plain decimal, or None.

    These forms are kept as text by the loader; the hint tells the user why their number
    is "a string" (`0443` is octal, `22:22` base 60, `0x50` hex, `1_0` with underscores).
    """
    body = text.lstrip("+-")
    if len(text) > 40 or not body:
        return None
    if re.fullmatch(r"0[xX][0-9a-fA-F_]+", body):
        return "YAML 1.1 reads it as a hexadecimal number; write the decimal number"
    if re.fullmatch(r"0[bB][01_]+", body):
        return "YAML 1.1 reads it as a binary number; write the decimal number"
    if re.fullmatch(r"0[0-7_]+", body):
        return "YAML 1.1 reads a leading 0 as octal; write the number without leading zeros"
    if re.fullmatch(r"[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?", body):
        return "YAML 1.1 reads digits separated by ':' as base 60; write one decimal number"
    if re.fullmatch(r"[0-9][0-9_]*(\.[0-9_]*)?", body) and "_" in body:
        return "YAML 1.1 ignores '_' in numbers; write the digits without '_'"
    if re.fullmatch(r"0[0-9]+", body):
        return "write the number without leading zeros"
    return None


def _libyaml_may_differ(text: str) -> bool:
    return CParser is None or _LIBYAML_MAY_DIFFER.search(text) is not None


@dataclass(frozen=True)
class Document:
    """One parsed file: its data and where each key and value was written."""

    path: str
    data: Data
    # Where each value and key starts, as YAML marks (0-based): a Location is made only
    # for the few places a message or the model names, not for each of 250,000 values.
    values: Mapping[DocPath, Mark]
    keys: Mapping[DocPath, Mark]
    # The text as written, for scalars that ${...} interpolation changed.
    written: Mapping[DocPath, str] = field(default_factory=dict)
    # What error() raises: the caller's own kind (InventoryError, RunbookError).
    error_type: type[DocumentError] = DocumentError

    def value_location(self, path: DocPath) -> Location:
        """Where the value at `path` starts (or its nearest enclosing value's start)."""
        while path not in self.values and path:
            path = path[:-1]
        mark = self.values.get(path)
        return Location(self.path, 1, 1) if mark is None else location(self.path, mark)

    def key_location(self, path: DocPath) -> Location:
        """Where the key of the mapping entry at `path` was written (the value's, for items)."""
        mark = self.keys.get(path)
        return self.value_location(path) if mark is None else location(self.path, mark)

    def error(self, path: DocPath, message: str, *, at_key: bool = False) -> DocumentError:
        """The error `"{place}: {message}"` at the value (or key) at `path`."""
        prefix = f"{place(path)}: " if path else ""
        if at_key:
            return self.error_type.at(self.key_location(path), prefix + message)
        origin = f" (from '{self.written[path]}')" if path in self.written else ""
        return self.error_type.at(self.value_location(path), prefix + message + origin)


def place(path: DocPath) -> str:
    """`services.api.ports[1]`: a path as users read it."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else part
    return text


def location(path: str, mark: Mark) -> Location:
    """A YAML mark (0-based) as a Location (1-based, as editors count)."""
    return Location(path, mark.line + 1, mark.column + 1)


def load_document(
    text: str,
    path: str,
    substitute: Substitute | None = None,
    *,
    noun: str = "a document",
    error_type: type[DocumentError] = DocumentError,
    libyaml_agrees: bool = False,
) -> Document:
    """Parse one YAML document safely, keeping marks; None data when it is empty.

    Duplicate keys, unsupported tags, recursive aliases, YAML syntax errors and documents
    past the bounds raise `error_type` at their place; messages call the document `noun`
    ("an inventory", "a runbook"). `substitute` rewrites every string value (not keys).
    `libyaml_agrees`: the text is known to read the same with libyaml and PyYAML (the
    package's own files, compared by the tests), so libyaml parses it even where the
    characters it holds could make them differ in other text.
    """
    if len(text) > MAX_DOCUMENT_CHARS:
        raise error_type(
            path,
            f"the file is {len(text):,} characters long; {noun} may have at most"
            f" {MAX_DOCUMENT_CHARS:,} (split it into several files)",
        )
    shielded = not any(char in text for char in _SHIELDS)
    if shielded:
        # No reference, nothing to swap back: every scalar is then taken as it is.
        text, references = _REFERENCE.subn(lambda ref: ref[0].translate(_SHIELD), text)
        shielded = references > 0
    with collector_paused():
        target = _Target(path, noun, error_type, libyaml_agrees)
        return _load(text, target, substitute, shielded)


@dataclass(frozen=True)
class _Target:
    """The document being loaded: its path, what messages call it, what error it raises."""

    path: str
    noun: str
    error_type: type[DocumentError]
    libyaml_agrees: bool = False  # see load_document

    def error(self, message: str, mark: Mark | None = None) -> DocumentError:
        if mark is None:
            return self.error_type(self.path, message)
        return self.error_type.at(location(self.path, mark), message)


# Up to this many libyaml events (keys, values, ends of collections) a document is composed
# before its keys and values are counted one by one: composing costs about what counting
# in Python does, and the count is then needed only when the composed document holds
# more than MAX_NODES or has an error to report.
_COMPOSE_EVENTS = MAX_NODES * 3 // 2


def _load(text: str, target: _Target, substitute: Substitute | None, shielded: bool) -> Document:
    deferred = False
    if CParser is not None and len(text) * 2 > MAX_NODES:  # a node takes 1 character or more
        events = _event_count(text)
        if events is None or events > _COMPOSE_EVENTS or _may_expand(text):
            _count_or_raise(text, target)
        else:
            deferred = events > MAX_NODES  # fewer events than MAX_NODES: fewer nodes too
    try:
        document = _parse(text, target, substitute, shielded)
    except DocumentError:
        if deferred:  # as if counted first: too many keys and values is the error to tell
            _count_or_raise(text, target)
        raise
    # Without aliases each key and value has one place: these are all of them.
    if deferred and len(document.values) + len(document.keys) > MAX_NODES:
        _count_or_raise(text, target)
    return document


def _event_count(text: str) -> int | None:
    """How many events libyaml reads in the text (counted in C), None on an error."""
    parser = CParser(text)
    try:
        count: int = parser.raw_parse()
    except yaml.YAMLError:
        return None
    finally:
        parser.dispose()
    return count


def _count_or_raise(text: str, target: _Target) -> None:
    try:
        _count_written(text, target.noun)
    except LimitExceeded as exc:
        raise target.error(exc.message, exc.mark) from None


def _parse(text: str, target: _Target, substitute: Substitute | None, shielded: bool) -> Document:
    if CParser is not None and (target.libyaml_agrees or not _libyaml_may_differ(text)):
        try:
            fast = _CLoader(text, target.noun)
            try:
                root = fast.get_single_node()
            finally:
                fast.dispose()
        except yaml.MarkedYAMLError as exc:
            # Re-parsing a large text with the pure-Python parser only for the wording of
            # its message would take seconds: libyaml's own message and mark do.
            if len(text) > _REPARSE_CHARS:
                raise _syntax_error(target, exc, _UNSHIELD if shielded else {}) from None
        except Exception:  # PyYAML, below, says what is wrong
            pass
        else:
            try:
                return _convert(fast, root, target, substitute, shielded)
            except _LibyamlDiffers:
                pass
    loader, root = _compose(text, target, shielded)
    return _convert(loader, root, target, substitute, shielded)


def _convert(
    loader: _Loader | _CLoader,
    root: Node | None,
    target: _Target,
    substitute: Substitute | None,
    shielded: bool,
) -> Document:
    path = target.path
    if root is None:
        return Document(path, None, {}, {}, error_type=target.error_type)
    if loader.may_expand:
        problem = expansion_problem(root, target.noun)
        if problem is not None:
            raise target.error(problem[1], problem[0])
    converter = _Converter(loader, target, substitute, _UNSHIELD if shielded else {})
    data = converter.value(root, ())
    return Document(
        path, data, converter.values, converter.keys, converter.written, target.error_type
    )


def _compose(text: str, target: _Target, shielded: bool) -> tuple[_Loader, Node | None]:
    """The pure-Python composition, and every error message the loader gives for bad YAML."""
    try:
        loader = _Loader(text, target.noun)
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - text.rfind("\n", 0, exc.position)
        message = f"invalid YAML: the control character #x{exc.character:04x} is not allowed"
        raise target.error_type.at(Location(target.path, line, column), message) from None
    loader.name = target.path
    try:
        root = loader.get_single_node()
    except LimitExceeded as exc:
        raise target.error(exc.message, exc.mark) from None
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(target, exc, _UNSHIELD if shielded else {}) from None
    except yaml.YAMLError as exc:  # anything PyYAML raises without a mark
        raise target.error(f"invalid YAML: {exc}".replace("\n", " ")) from None
    finally:
        loader.dispose()
    return loader, root


def _syntax_error(
    target: _Target, exc: yaml.MarkedYAMLError, unshield: dict[int, int]
) -> DocumentError:
    mark = exc.problem_mark or exc.context_mark
    problem = (exc.problem or "not valid YAML").translate(unshield)
    if "'\\t'" in problem:
        problem = "a tab character here; YAML indents with spaces only"
    elif problem == "mapping values are not allowed here":
        problem += " (check this line's indentation, or quote a value containing ': ')"
    elif problem.startswith("but ") and exc.context:  # "expected one document, but found..."
        problem = f"{exc.context}, {problem}"
    elif exc.context and exc.context_mark and exc.context_mark is not mark:
        context = exc.context.replace("while ", "", 1)
        problem += f" ({context} that started at {exc.context_mark.line + 1}:"
        problem += f"{exc.context_mark.column + 1})"
    elif exc.context:
        problem += f" ({exc.context})"
    return target.error(f"invalid YAML: {problem}", mark)


def _may_expand(text: str) -> bool:
    """Whether the text may hold an alias or a merge key (else written = expanded)."""
    return "*" in text or "<<" in text


def expansion_problem(root: Node, noun: str) -> tuple[Mark, str] | None:
    """Where and why a composed document would expand past MAX_NODES or MAX_DEPTH.

    Composition shares an aliased node, so a 500-byte alias or merge-key bomb composes
    into a few dozen nodes that would convert into 10^7 values. This walks the composed
    graph once (each distinct node once, without recursion) and computes, per node, how
    many nodes and how many levels it stands for with every alias expanded: a key counts
    too, so does each use of an alias or a `<<` source. A node that contains itself
    (a recursive alias) counts once; converting reports the loop.
    """
    sizes: dict[int, int] = {}
    heights: dict[int, int] = {}
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if isinstance(node, ScalarNode):
            sizes[key], heights[key] = 1, 0
            continue
        children = _children(node)
        if not children_done:
            if key in sizes:
                continue
            sizes[key], heights[key] = 1, 0  # placeholder for a loop back to this node
            stack.append((node, True))
            stack.extend((child, False) for child in children if id(child) not in sizes)
            continue
        size = 1 + sum(sizes[id(child)] for child in children)
        height = 1 + max((heights[id(child)] for child in children), default=0)
        if size > MAX_NODES:
            return node.start_mark, (
                f"this expands to more than {MAX_NODES:,} keys and values once its aliases"
                f" (*name) and merge keys (<<) are expanded; {noun} may hold at most"
                f" {MAX_NODES:,}"
            )
        sizes[key], heights[key] = size, height
    if heights[id(root)] > MAX_DEPTH:
        # Name the place where the deepest path passes MAX_DEPTH levels, from the top.
        node = root
        for _ in range(MAX_DEPTH):
            node = max(_children(node), key=lambda child: heights[id(child)])
        return node.start_mark, TOO_DEEP
    return None


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


class _Converter:
    """Turns composed nodes into plain data, recording marks by document path."""

    def __init__(
        self,
        loader: _Loader | _CLoader,
        target: _Target,
        substitute: Substitute | None,
        unshield: dict[int, int],
    ) -> None:
        self.loader = loader
        self.unshield = unshield
        self.target = target
        self.path = target.path
        self.substitute = substitute
        self.values: dict[DocPath, Mark] = {}
        self.keys: dict[DocPath, Mark] = {}
        self.written: dict[DocPath, str] = {}
        self._active: set[int] = set()  # collections being converted: alias loops
        # An empty value (`key:` with nothing after it) gets its mark from the token
        # around it, which libyaml and PyYAML choose differently in some places.
        self._strict_empty = not isinstance(loader, _Loader)

    def error(self, node: Node, path: DocPath, message: str) -> DocumentError:
        if (
            self._strict_empty
            and isinstance(node, ScalarNode)
            and not node.value
            and not node.style
        ):
            raise _LibyamlDiffers
        prefix = f"{place(path)}: " if path else ""
        return self.target.error(prefix + message, node.start_mark)

    def value(self, node: Node, path: DocPath) -> Data:
        if isinstance(node, ScalarNode):
            if self._strict_empty and not node.value and not node.style:
                raise _LibyamlDiffers
            self.values[path] = node.start_mark
            text = node.value
            if node.tag == _STR and not self.unshield and "$" not in text:
                return str(text)  # most values: text as written, nothing to substitute
            return self.scalar(node, path)
        self.values[path] = node.start_mark
        if len(path) >= MAX_DEPTH:  # without aliases (_check_expansion) the path is the depth
            raise self.target.error(TOO_DEEP, node.start_mark)
        if id(node) in self._active:
            raise self.error(node, path, "an alias refers to a collection that contains it")
        if node.tag not in _COLLECTIONS:  # nothing is constructed, but say it is ignored
            shown = node.tag.replace("tag:yaml.org,2002:", "!!")
            raise self.error(
                node, path, f"the YAML tag {shown} is not supported in {self.target.noun}"
            )
        self._active.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                return [self.value(item, (*path, i)) for i, item in enumerate(node.value)]
            assert isinstance(node, MappingNode)
            return self.mapping(node, path)
        finally:
            self._active.discard(id(node))

    def mapping(self, node: MappingNode, path: DocPath) -> dict[str, Data]:
        explicit: dict[str, Node] = {}
        merges = False
        for key_node, _ in node.value:
            if key_node.tag == _MERGE:
                merges = True
                continue
            key = self.key(key_node, path)
            if key in explicit:
                first = location(self.path, explicit[key].start_mark)
                raise self.error(
                    key_node,
                    (*path, key),
                    f"duplicate key '{key}' (first written at {first.line}:{first.column})",
                )
            explicit[key] = key_node
        result: dict[str, Data] = {}
        if not merges:  # the keys are read already, and none repeats
            keys = self.keys
            value = self.value
            for (key, key_node), (_, value_node) in zip(explicit.items(), node.value, strict=True):
                where = (*path, key)
                keys[where] = key_node.start_mark
                result[key] = value(value_node, where)
            return result
        for key, key_node, value_node in self.entries(node, path, explicit):
            if key not in result:
                where = (*path, key)
                self.keys[where] = key_node.start_mark
                result[key] = self.value(value_node, where)
        return result

    def entries(
        self, node: MappingNode, path: DocPath, explicit: Mapping[str, Node]
    ) -> list[tuple[str, Node, Node]]:
        """The mapping's entries in order, `<<` merges expanded where they are written.

        As YAML's merge key says, keys written in the mapping win over merged ones, and an
        earlier merged mapping wins over a later one.
        """
        entries: list[tuple[str, Node, Node]] = []
        for key_node, value_node in node.value:
            if key_node.tag != _MERGE:
                entries.append((self.key(key_node, path), key_node, value_node))
                continue
            sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
            for source in sources:
                if not isinstance(source, MappingNode):
                    raise self.error(source, path, "'<<' merges a mapping or a list of mappings")
                if id(source) in self._active:
                    raise self.error(source, path, "'<<' merges a mapping that contains it")
                self._active.add(id(source))
                own = {self.key(k, path): k for k, _ in source.value if k.tag != _MERGE}
                try:
                    merged = self.entries(source, path, own)
                finally:
                    self._active.discard(id(source))
                entries.extend(entry for entry in merged if entry[0] not in explicit)
        return entries

    def key(self, node: Node, path: DocPath) -> str:
        # Keys are names as written: never interpolated, and `on:` or `80:` stay text.
        if not isinstance(node, ScalarNode):
            kind = "list" if isinstance(node, SequenceNode) else "mapping"
            raise self.error(node, path, f"a key must be a name, not a {kind}")
        if self._strict_empty and not node.value and not node.style:
            raise _LibyamlDiffers
        key = str(node.value)
        return key.translate(self.unshield) if self.unshield else key

    def scalar(self, node: ScalarNode, path: DocPath) -> Data:
        tag, text = node.tag, str(node.value)
        if self.unshield:
            text = text.translate(self.unshield)
        if tag == _STR and self.substitute is not None and "$" in text:
            try:
                new_text, retype = self.substitute(text)
            except ValueError as exc:
                raise self.error(node, path, str(exc)) from None
            if new_text != text:
                self.written[path] = text
            # Only an unquoted, untagged scalar that was one ${...} takes the type YAML would
            # give its value (ports: [${PORT}] is a number); the value itself is never
            # parsed as YAML, so it cannot add structure.
            plain = not node.style  # PyYAML: None; libyaml: ""
            if retype and plain and id(node) not in self.loader.explicitly_tagged:
                tag = self.loader.resolve(  # type: ignore[no-untyped-call]  # untyped in the stubs
                    ScalarNode, new_text, (True, False)
                )
                if tag not in (_NULL, _BOOL, _INT, _FLOAT):  # e.g. a value of "<<"
                    tag = _STR
            text = new_text
        return self.construct(node, path, tag, text)

    def construct(self, node: ScalarNode, path: DocPath, tag: str, text: str) -> Data:
        if tag == _STR:
            return text
        if tag == _NULL:
            return None
        if tag == _BOOL:
            return self.loader.construct_yaml_bool(ScalarNode(tag, text))
        if tag == _INT:
            digits = len(text.lstrip("+-"))
            if digits > MAX_INT_DIGITS:
                shown = text if len(text) <= 24 else f"{text[:12]}…{text[-6:]}"
                raise self.error(
                    node,
                    path,
                    f"{shown} has {digits:,} digits; numbers in {self.target.noun} have at most"
                    f" {MAX_INT_DIGITS} (quote it if it is text)",
                )
            return int(text)
        if tag == _FLOAT:
            return self.loader.construct_yaml_float(ScalarNode(tag, text))
        shown = tag.replace("tag:yaml.org,2002:", "!!")
        raise self.error(node, path, f"the YAML tag {shown} is not supported in {self.target.noun}")
