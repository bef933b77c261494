"""A Python file parsed for question generation: its statements, the variables each reads and
writes, what its calls may do, and the idioms it contains.

The convention for variables is the one a learner would use, and questions state it:
  * a variable is a name of a value the program computes: modules, imported names, the file's own
    functions and classes, builtins and `self` itself are not variables;
  * an attribute of `self` counts by its name (`self.actor`); any other attribute or subscript
    counts as its base (`args` for `args.gamma`, `obs` for `obs[step]`);
  * a line *changes* a variable it assigns, the base of a subscript or attribute it assigns
    (`obs[step] = x` changes `obs`), and the object of an in-place method (`x.add_(y)`,
    `xs.append(y)`, `np.random.shuffle(idx)`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from . import calls, idioms

_EMPTY = cst.Module([])
_EFFECT_ORDER = {calls.PURE: 0, calls.RANDOM: 1, calls.MUTATES: 2, calls.IO: 3, calls.UNKNOWN: 4}
RNG, IO = "<random state>", "<input/output>"


@dataclass
class Statement:
    node: cst.CSTNode            # a small statement (Assign, Expr, Return...) or a compound statement
    line: int
    end_line: int
    function: str                # qualified name of the enclosing function, "<module>" at top level
    code: str                    # the statement's code (the header line for compound statements)
    block: int                   # which statement list it belongs to
    position: int                # its index in that list
    compound: bool
    reads: list[str] = field(default_factory=list)
    writes: list[str] = field(default_factory=list)
    effect: str = calls.PURE     # the worst effect of its calls: pure < random < mutates < io < unknown


class _Collector(cst.CSTVisitor):
    METADATA_DEPENDENCIES = (PositionProvider,)
    _COMPOUND = (cst.For, cst.While, cst.If, cst.With, cst.Try, cst.FunctionDef, cst.ClassDef)

    def __init__(self, index: "SourceIndex"):
        self.index = index
        self.scope: list[str] = []
        self.blocks: list[tuple[int, list]] = []
        self.statements: list[Statement] = []
        self.elifs: set[int] = set()

    def _block(self, node):
        self.blocks.append((id(node), []))

    def visit_Module(self, node):
        self._block(node)

    def visit_IndentedBlock(self, node):
        self._block(node)

    def leave_IndentedBlock(self, node):
        self.blocks.pop()

    def visit_SimpleStatementSuite(self, node):
        self._block(node)

    def leave_SimpleStatementSuite(self, node):
        self.blocks.pop()

    def visit_ClassDef(self, node):
        self._compound(node)
        self.scope.append(node.name.value)

    def leave_ClassDef(self, node):
        self.scope.pop()

    def visit_FunctionDef(self, node):
        self._compound(node)
        self.scope.append(node.name.value)

    def leave_FunctionDef(self, node):
        self.scope.pop()

    def visit_If(self, node):
        if isinstance(node.orelse, cst.If):
            self.elifs.add(id(node.orelse))
        if id(node) not in self.elifs:
            self._compound(node)

    def visit_For(self, node):
        self._compound(node)

    def visit_While(self, node):
        self._compound(node)

    def visit_With(self, node):
        self._compound(node)

    def visit_Try(self, node):
        self._compound(node)

    def _add(self, node, code: str, compound: bool, end_line: int | None = None) -> Statement:
        position = self.get_metadata(PositionProvider, node)
        block_id, members = self.blocks[-1]
        statement = Statement(node, position.start.line, end_line or position.end.line, ".".join(self.scope) or "<module>",
                              code, block_id, len(members), compound)
        members.append(statement)
        self.statements.append(statement)
        return statement

    def _compound(self, node):
        line = self.get_metadata(PositionProvider, node).start.line
        header = idioms.header_line(self.index.lines, line)
        statement = self._add(node, header, True, idioms.header_end(self.index.lines, line))
        self.index.analyse(statement)

    def visit_SimpleStatementLine(self, node):
        for small in node.body:
            position = self.get_metadata(PositionProvider, small)
            statement = self._add(small, self.index.span(position), False)
            self.index.analyse(statement)
        return False


def _python_syntax_error(text: str, path: str) -> str | None:
    """Python's own account of a syntax error (line and message as `python file` gives them; libcst's parser
    often names a later line), or None if Python compiles the text."""
    import ast
    try:
        ast.parse(text, filename=path)
    except SyntaxError as exc:
        return f"{path}:{exc.lineno}: cannot parse: {exc.msg}"
    except (RecursionError, MemoryError, ValueError):
        return None
    return None


class SourceIndex:
    """A parsed Python file, ready for question generation."""

    def __init__(self, text: str, path: str = "<source>"):
        self.path = path
        self.text = text
        self.lines = text.splitlines()
        try:
            self.module = cst.parse_module(text)
            self.aliases = idioms.imports_of(self.module)
            self.imported = _imported_names(self.module)
            self.defined, self.assigned = _definitions(self.module)
            self.wrapper = MetadataWrapper(self.module, unsafe_skip_copy=True)
            collector = _Collector(self)
            self.wrapper.visit(collector)
        except cst.ParserSyntaxError as exc:
            raise SyntaxError(_python_syntax_error(text, path) or f"{path}:{exc.raw_line}: cannot parse: {exc.message}") from None
        except RecursionError:       # a 500-term expression is beyond libcst's recursion
            raise SyntaxError(f"{path}: nested too deeply for libcst to generate questions from") from None
        self.statements = collector.statements
        self._hits: list | None = None
        self.probe_cache: dict[str, object] = {}
        self._faults: dict | None = None

    @classmethod
    def from_file(cls, path: Path) -> "SourceIndex":
        from ..engine.anchors import read_source
        try:
            text = read_source(path)                   # honours a coding cookie, as Python does
        except (SyntaxError, UnicodeDecodeError) as exc:
            raise SyntaxError(f"{path}: not a readable Python source file ({exc})") from None
        return cls(text, str(path))

    @property
    def hits(self) -> list:
        """The idioms of the catalogue found in this file."""
        if self._hits is None:
            self._hits = idioms.find_in_module(self.module, self.wrapper)
        return self._hits

    @property
    def faults(self) -> dict[int, list]:
        """line -> [(Fault, mutated statement)] from the shared fault library, found in one pass over the file."""
        if self._faults is None:
            self._faults = {}
            try:
                from ..practice import faults
                found = faults.mutations(self.text, self.path)
            except ImportError:
                found = []
            starts = {s.line: s for s in self.statements if not s.compound}
            for mutation in found:
                stmt = starts.get(mutation.line)
                if stmt is not None and stmt.code == mutation.original and mutation.end_line == stmt.end_line:
                    self._faults.setdefault(mutation.line, []).append((mutation.fault, mutation.mutated))
        return self._faults

    def at(self, line: int) -> Statement | None:
        """The innermost statement whose lines contain `line` (small statements before compound ones)."""
        found = [s for s in self.statements if s.line <= line <= s.end_line]
        simple = [s for s in found if not s.compound]
        if simple:
            return simple[0]
        starting = [s for s in found if s.line == line]
        return starting[-1] if starting else None

    def span(self, position) -> str:
        """The source text of a node, from its position."""
        start, end = position.start, position.end
        if start.line == end.line:
            return self.lines[start.line - 1][start.column:end.column]
        parts = [self.lines[start.line - 1][start.column:], *self.lines[start.line:end.line - 1],
                 self.lines[end.line - 1][:end.column]]
        return "\n".join(parts)

    def block(self, statement: Statement) -> list[Statement]:
        return [s for s in self.statements if s.block == statement.block]

    def source_lines(self, start: int, end: int) -> str:
        import textwrap
        return textwrap.dedent("\n".join(self.lines[start - 1:end]))

    # ----- variables and effects -------------------------------------------------------------------
    def is_variable(self, name: str) -> bool:
        if name in ("self", "cls", "_"):
            return False
        if name in self.assigned:
            return True
        return not (name in self.imported or name in self.defined or name in calls.BUILTIN_NAMES)

    def analyse(self, statement: Statement) -> None:
        node = statement.node
        reads, writes = _Names(self), []
        effect = calls.PURE
        if isinstance(node, (cst.Assign, cst.AugAssign, cst.AnnAssign)):
            targets = [t.target for t in node.targets] if isinstance(node, cst.Assign) else [node.target]
            for target in targets:
                reads.targets(target)
                writes.extend(self._changed(target))
            if isinstance(node, cst.AugAssign):
                reads.add_all(self._changed(node.target))
            if node.value is not None:
                reads.visit(node.value)
        elif isinstance(node, cst.For):
            reads.visit(node.iter)
            writes.extend(self._changed(node.target))
        elif isinstance(node, (cst.If, cst.While)):
            reads.visit(node.test)
        elif isinstance(node, cst.With):
            for item in node.items:
                reads.visit(item.item)
                if item.asname is not None:
                    writes.extend(self._changed(item.asname.name))
        elif isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Try)):
            effect = calls.UNKNOWN
        elif isinstance(node, cst.Del):
            writes.extend(self._changed(node.target))
        elif isinstance(node, (cst.Import, cst.ImportFrom, cst.Global, cst.Nonlocal)):
            effect = calls.IO
        elif isinstance(node, (cst.Raise, cst.Assert)):
            reads.visit(node)
            effect = calls.IO
        else:
            reads.visit(node)
        generators = []
        for call in reads.calls:
            kind, changed, generator = self._call_effect(call)
            if generator and generator not in generators:
                generators.append(generator)
            if _EFFECT_ORDER[kind] > _EFFECT_ORDER[effect]:
                effect = kind
            for name in changed:
                if name not in writes:
                    writes.append(name)
        if effect == calls.IO:                # printing, saving: the order of such lines is observable
            reads.add(IO)
            writes.append(IO)
        for generator in generators:        # drawing from (or seeding) a generator reads and changes its state
            reads.add(f"{RNG}: {generator}")
            writes.append(f"{RNG}: {generator}")
        statement.reads = reads.names
        statement.writes = writes
        statement.effect = effect

    def _changed(self, target) -> list[str]:
        """The variables an assignment target changes."""
        if isinstance(target, (cst.Tuple, cst.List)):
            out = []
            for element in target.elements:
                out.extend(self._changed(element.value))
            return out
        if isinstance(target, cst.StarredElement):
            return self._changed(target.value)
        name = self.variable_of(target)
        return [name] if name else []

    def variable_of(self, node) -> str | None:
        """`obs` for obs[step], `self.actor` for self.actor.weight, `args` for args.batch_size."""
        chain = []
        while isinstance(node, (cst.Subscript, cst.Attribute)):
            if isinstance(node, cst.Attribute):
                chain.append(node.attr.value)
            else:
                chain.clear()
            node = node.value
        if not isinstance(node, cst.Name):
            return None
        if node.value in ("self", "cls"):
            return f"{node.value}.{chain[-1]}" if chain else None
        return node.value if self.is_variable(node.value) else None

    def qualified(self, func) -> str | None:
        """`torch.nn.functional.softmax` for `F.softmax` when F is imported; None for a method or a local."""
        dotted = idioms._dotted(func)
        if dotted is None:
            return None
        head = dotted.partition(".")[0]
        if head in self.aliases and not (head in self.assigned and head not in self.imported):
            return self.aliases[head] + dotted[len(head):]
        if "." not in dotted and dotted in calls.BUILTIN_NAMES and dotted not in self.assigned \
                and dotted not in self.defined:
            return dotted
        return None

    def _call_effect(self, call: cst.Call) -> tuple[str, list[str], str | None]:
        """(what the call does, the variables it changes, the random generator it uses, if any)."""
        func = call.func
        qualified = self.qualified(func)
        if qualified is not None:
            kind = calls.classify_function(qualified)
            draws = calls.random_generator(qualified)
            if kind == calls.MUTATES:
                first = next((a.value for a in call.args if a.keyword is None and not a.star), None)
                name = self.variable_of(first) if first is not None else None
                return (kind, [name], draws) if name else (calls.UNKNOWN, [], draws)
            return kind, [], draws
        if isinstance(func, cst.Attribute):
            kind = calls.classify_method(func.attr.value)
            if kind == calls.MUTATES:
                name = self.variable_of(func.value)
                return (kind, [name], None) if name else (calls.UNKNOWN, [], None)
            return kind, [], "torch" if kind == calls.RANDOM else None     # dist.sample(), x.normal_()
        return calls.UNKNOWN, [], None


class _Names(cst.CSTVisitor):
    """The variables an expression reads, in order, following the module's convention."""

    def __init__(self, index: SourceIndex):
        self.index = index
        self.names: list[str] = []
        self.calls: list[cst.Call] = []
        self.bound: list[set[str]] = []          # comprehension and lambda variables in scope

    def visit_Call(self, node):
        self.calls.append(node)

    def add(self, name: str) -> None:
        if name not in self.names:
            self.names.append(name)

    def add_all(self, names) -> None:
        for name in names:
            self.add(name)

    def visit(self, node) -> None:
        node.visit(self)

    def targets(self, target) -> None:
        """An assignment target reads its subscripts' indices (obs[step] reads step), not its base."""
        if isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self.targets(element.value)
        elif isinstance(target, cst.Subscript):
            for element in target.slice:
                element.visit(self)
            self.targets(target.value)
        elif isinstance(target, cst.Attribute):
            self.targets(target.value)

    def _is_bound(self, name: str) -> bool:
        return any(name in scope for scope in self.bound)

    def visit_Name(self, node):
        if not self._is_bound(node.value) and self.index.is_variable(node.value):
            self.add(node.value)

    def visit_Attribute(self, node):
        if isinstance(node.value, cst.Name) and node.value.value in ("self", "cls"):
            self.add(f"{node.value.value}.{node.attr.value}")
            return False
        node.value.visit(self)
        return False                             # never count the attribute's own name

    def visit_Arg(self, node):
        node.value.visit(self)                   # a keyword's name (dim=) is not a variable
        return False

    def _comprehension(self, node, parts):
        names = set()
        for_in = node.for_in
        while for_in is not None:
            names |= {n.value for n in _names_in(for_in.target)}
            for_in = for_in.inner_for_in
        self.bound.append(names)
        for_in = node.for_in
        while for_in is not None:
            for_in.iter.visit(self)
            for condition in for_in.ifs:
                condition.visit(self)
            for_in = for_in.inner_for_in
        for part in parts:
            part.visit(self)
        self.bound.pop()
        return False

    def visit_ListComp(self, node):
        return self._comprehension(node, [node.elt])

    visit_SetComp = visit_GeneratorExp = visit_ListComp

    def visit_DictComp(self, node):
        return self._comprehension(node, [node.key, node.value])

    def visit_Lambda(self, node):
        self.bound.append({p.name.value for p in node.params.params})
        node.body.visit(self)
        self.bound.pop()
        return False

    def visit_FunctionDef(self, node):
        return False

    def visit_ClassDef(self, node):
        return False


def _names_in(node) -> list[cst.Name]:
    if isinstance(node, cst.Name):
        return [node]
    out = []
    for child in node.children:
        out.extend(_names_in(child))
    return out


def _definitions(module: cst.Module) -> tuple[set[str], set[str]]:
    """Names of the file's functions and classes, and every name it assigns (a variable may shadow a builtin)."""
    defined, assigned = set(), set()

    class Finder(cst.CSTVisitor):
        def visit_FunctionDef(self, node):
            defined.add(node.name.value)
            for param in (*node.params.params, *node.params.kwonly_params, *node.params.posonly_params):
                assigned.add(param.name.value)
            for star in (node.params.star_arg, node.params.star_kwarg):
                if isinstance(star, cst.Param):
                    assigned.add(star.name.value)

        def visit_ClassDef(self, node):
            defined.add(node.name.value)

        def visit_AssignTarget(self, node):
            assigned.update(n.value for n in _names_in(node.target))

        def visit_AugAssign(self, node):
            assigned.update(n.value for n in _names_in(node.target))

        def visit_AnnAssign(self, node):
            assigned.update(n.value for n in _names_in(node.target))

        def visit_For(self, node):
            assigned.update(n.value for n in _names_in(node.target))

        def visit_WithItem(self, node):
            if node.asname is not None:
                assigned.update(n.value for n in _names_in(node.asname.name))

        def visit_CompFor(self, node):
            assigned.update(n.value for n in _names_in(node.target))

    module.visit(Finder())
    return defined, assigned - {"self", "cls"}


def _imported_names(module: cst.Module) -> set[str]:
    """The local names that import statements bind (`F` for `import torch.nn.functional as F`)."""
    names = set()
    for node in idioms._walk_imports(module):
        if isinstance(node.names, cst.ImportStar):
            continue
        for alias in node.names:
            if alias.asname is not None:
                names.add(alias.asname.name.value)
            else:
                names.add(idioms._dotted(alias.name).split(".")[0])
    return names
