"""Whether one SQL statement is confined to one user: what sharding the tables by user
(Citus, with the user id as every table's distribution column) needs of every statement
a request runs, so that it routes to one shard.

A statement is confined when every reference to a user-keyed table is pinned to one
value of that table's user column, and all of them to the same value:

* a table read, updated or deleted from: an equality `user column = value` among the
  conjuncts (top-level ANDs) of its query block's WHERE, or of the ON of its join (an
  outer join's ON pins only the joined side), directly or through column equalities
  (`tasks.user_id = users.id AND users.id = $1`), also from an enclosing block
  (a correlated subquery);
* a table inserted into: one row, whose user column is one value (`VALUES ($1, …)`, or
  the `SELECT $1, …` of an `INSERT … SELECT`).

A value is a bound parameter or a literal (cast or not). `IN`, `ANY`, `OR`, a range or
a missing predicate leave the table unpinned: the statement would fan out to every shard.

    report = confinement("SELECT tasks.id FROM tasks WHERE tasks.user_id = $1", {"$1": "alice"})
    assert report.problems == [] and report.users == {"alice"}
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp

# The column a sharded deployment distributes each table by: the user, everywhere.
DISTRIBUTION_COLUMN = {"users": "id", "tasks": "user_id", "events": "user_id", "idempotency_keys": "user_id"}

_BLOCKS = (exp.Select, exp.Update, exp.Delete)
_Key = tuple[str, str]  # ("col", "alias.column") or ("value", the value as bound)


@dataclass
class Confinement:
    """What one statement touches and where it is pinned."""

    # (table, verb) for each user-keyed table it touches: SELECT, INSERT, UPDATE, DELETE
    touches: set[tuple[str, str]] = field(default_factory=set)
    users: set[str] = field(default_factory=set)  # the values its user columns are pinned to
    problems: list[str] = field(default_factory=list)

    @property
    def confined(self) -> bool:
        return not self.problems and len(self.users) <= 1


def parse(sql: str) -> exp.Expr:
    """The statement as PostgreSQL runs it (`$n` parameters), parsed."""
    return sqlglot.parse_one(sql, read="postgres")


def confinement(sql: str, params: dict[str, str | None] | None = None) -> Confinement:
    """Where `sql` is pinned; `params` (`{"$1": value}`) gives the values its parameters
    were bound to, so that two parameters holding one user count as one user."""
    tree = parse(sql)
    report = Confinement()
    for table in tree.find_all(exp.Table):
        column = DISTRIBUTION_COLUMN.get(table.name)
        if column is None:
            continue
        insert = _insert_target(table)
        report.touches.add((table.name, _verb(table, insert)))
        value = (
            _inserted_value(insert, column, params or {})
            if insert is not None
            else _pinned_value(table, column, params or {})
        )
        if value is None:
            report.problems.append(f"{table.name}.{column} is not pinned to one value")
        else:
            report.users.add(value)
    if len(report.users) > 1:
        report.problems.append(f"pinned to several users: {sorted(report.users)}")
    return report


def _verb(table: exp.Table, insert: exp.Insert | None) -> str:
    if insert is not None:
        return "INSERT"
    block = _block_of(table)
    if isinstance(block, exp.Update | exp.Delete) and block.this is table:
        return type(block).__name__.upper()
    return "SELECT"


def _insert_target(table: exp.Table) -> exp.Insert | None:
    parent = table.parent
    if isinstance(parent, exp.Schema):
        parent = parent.parent
    if isinstance(parent, exp.Insert) and (parent.this is table or parent.this is table.parent):
        return parent
    return None


def _value(node: exp.Expr, params: dict[str, str | None]) -> str | None:
    while isinstance(node, exp.Cast | exp.Paren | exp.Alias):
        node = node.this
    if isinstance(node, exp.Parameter | exp.Placeholder):
        name = node.sql(dialect="postgres")
        bound = params.get(name, name)
        return None if bound is None else bound
    if isinstance(node, exp.Literal):
        return str(node.this)
    return None


def _inserted_value(insert: exp.Insert, column: str, params: dict[str, str | None]) -> str | None:
    schema = insert.this
    if not isinstance(schema, exp.Schema):
        return None  # no column list: the position of the user column is not stated
    names = [c.name for c in schema.expressions]
    if column not in names:
        return None
    position = names.index(column)
    source = insert.expression
    if isinstance(source, exp.Values) and len(source.expressions) == 1:
        return _value(source.expressions[0].expressions[position], params)
    if isinstance(source, exp.Select) and len(source.expressions) == len(names):
        return _value(source.expressions[position], params)
    return None


class _Classes:
    """Equality classes of columns and values (union-find)."""

    def __init__(self) -> None:
        self._parent: dict[_Key, _Key] = {}

    def find(self, key: _Key) -> _Key:
        self._parent.setdefault(key, key)
        while self._parent[key] != key:
            self._parent[key] = self._parent[self._parent[key]]
            key = self._parent[key]
        return key

    def union(self, a: _Key, b: _Key) -> None:
        self._parent[self.find(a)] = self.find(b)

    def members(self, key: _Key) -> list[_Key]:
        root = self.find(key)
        return [k for k in list(self._parent) if self.find(k) == root]


def _sources(block: exp.Expr) -> dict[str, exp.Expr]:
    """The block's own FROM items (and an UPDATE's or DELETE's target), by alias."""
    items: list[exp.Expr] = []
    if isinstance(block, exp.Update | exp.Delete) and isinstance(block.this, exp.Table):
        items.append(block.this)
    if block.args.get("from_") is not None:
        items.append(block.args["from_"].this)
    items += block.args.get("using") or []
    items += [join.this for join in block.args.get("joins") or []]
    for item in list(items):  # a DELETE's USING list holds its further items as joins
        items += [join.this for join in item.args.get("joins") or []]
    return {item.alias_or_name: item for item in items}


def _conjuncts(condition: exp.Expr | None) -> list[exp.Expr]:
    if condition is None:
        return []
    while isinstance(condition, exp.Paren | exp.Where):
        condition = condition.this
    if isinstance(condition, exp.And):
        return _conjuncts(condition.left) + _conjuncts(condition.right)
    return [condition]


def _term(node: exp.Expr, sources: dict[str, exp.Expr], params: dict[str, str | None]) -> _Key | None:
    value = _value(node, params)
    if value is not None:
        return ("value", value)
    if isinstance(node, exp.Column):
        qualifier = node.table or (next(iter(sources)) if len(sources) == 1 else "")
        return ("col", f"{qualifier}.{node.name}") if qualifier else None
    return None


def _block_of(node: exp.Expr) -> exp.Expr | None:
    parent = node.parent
    while parent is not None and not isinstance(parent, _BLOCKS):
        parent = parent.parent
    return parent


def _classes_of(block: exp.Expr, alias: str, params: dict[str, str | None]) -> _Classes:
    sources = _sources(block)
    conditions = _conjuncts(block.args.get("where"))
    for join in block.args.get("joins") or []:
        # An outer join's ON never filters its preserved side (both sides of a FULL join).
        side, joined = join.side.upper(), join.this.alias_or_name == alias
        if not side or (side == "LEFT" and joined) or (side == "RIGHT" and not joined):
            conditions += _conjuncts(join.args.get("on"))
    classes = _Classes()
    for condition in conditions:
        if isinstance(condition, exp.EQ):
            left, right = _term(condition.this, sources, params), _term(condition.expression, sources, params)
            if left is not None and right is not None:
                classes.union(left, right)
    return classes


def _pinned_value(table: exp.Table, column: str, params: dict[str, str | None]) -> str | None:
    block = _block_of(table)
    key: _Key = ("col", f"{table.alias_or_name}.{column}")
    seen: set[_Key] = set()
    while block is not None:
        classes = _classes_of(block, key[1].split(".")[0], params)
        members = classes.members(key)
        values = {k[1] for k in members if k[0] == "value"}
        if len(values) == 1:
            return values.pop()
        if values:
            return None
        # Equal to a column of an enclosing block (a correlated subquery): look there.
        local = _sources(block)
        outer = [k for k in members if k[0] == "col" and k[1].split(".")[0] not in local and k not in seen]
        if not outer:
            return None
        key = outer[0]
        seen.add(key)
        block = _block_of(block)
        while block is not None and key[1].split(".")[0] not in _sources(block):
            block = _block_of(block)
    return None
