"""Reads an ISIS reduce_vars.py WITHOUT running it and prints its variables as JSON.

Usage: python3 -I -S read_reduce_vars.py <path>

Only top-level assignments `name = <literal>` are allowed (plus a docstring); anything else is refused
before any value is evaluated, and values are evaluated with ast.literal_eval only.

On success prints, and exits 0:
  {"standard_vars": [{"name": str, "type": T, "value": V}, ...],
   "advanced_vars": [...],
   "variable_help": {"standard_vars": [{"name": str, "text": str}, ...], "advanced_vars": [...]}}
where T is "str", "int", "float", "bool", "list[str]", "list[int]", "list[float]" (numbers, at least one
a float), "list[bool]" or "list" (empty). Lists keep the file's order; T keeps 1.0 apart from 1.
On failure prints {"error": str, "line": int or null} and exits 2.
"""

import ast
import json
import math
import sys

SECTIONS = ("standard_vars", "advanced_vars")
MAX_SAFE_INT = 2**53 - 1
NOT_ALLOWED = "only plain assignments of literal values are allowed (found {})"

STATEMENTS = {
    "Import": "an import",
    "ImportFrom": "an import",
    "AugAssign": "an augmented assignment",
    "AnnAssign": "an annotated assignment",
    "FunctionDef": "a function definition",
    "AsyncFunctionDef": "a function definition",
    "ClassDef": "a class definition",
    "If": "an if statement",
    "For": "a for loop",
    "AsyncFor": "a for loop",
    "While": "a while loop",
    "With": "a with statement",
    "AsyncWith": "a with statement",
    "Try": "a try statement",
    "TryStar": "a try statement",
    "Delete": "a del statement",
    "Global": "a global statement",
    "Nonlocal": "a nonlocal statement",
    "Assert": "an assert statement",
    "Raise": "a raise statement",
    "Match": "a match statement",
}

EXPRESSIONS = {
    "Call": "a function call",
    "Attribute": "an attribute access",
    "Subscript": "a subscript",
    "BinOp": "an arithmetic expression",
    "UnaryOp": "an operator expression",
    "BoolOp": "a boolean expression",
    "Compare": "a comparison",
    "Lambda": "a lambda",
    "IfExp": "a conditional expression",
    "ListComp": "a comprehension",
    "SetComp": "a comprehension",
    "DictComp": "a comprehension",
    "GeneratorExp": "a comprehension",
    "JoinedStr": "an f-string",
    "FormattedValue": "an f-string",
    "Starred": "a starred expression",
    "NamedExpr": "an assignment expression",
    "Await": "an await expression",
    "Yield": "a yield expression",
    "YieldFrom": "a yield expression",
}


class ReadError(Exception):
    """Why the file cannot be read, and on which line."""

    def __init__(self, message, line=None):
        super().__init__(message)
        self.message = message
        self.line = line


def refuse(what, node):
    raise ReadError(NOT_ALLOWED.format(what), getattr(node, "lineno", None))


def check_literal(node):
    """Refuses any node that is not a literal: constants, lists, tuples, sets, dicts, signed numbers."""
    if isinstance(node, ast.Constant):
        return
    if isinstance(node, ast.Name):
        refuse(f"the name {node.id!r}", node)
    if isinstance(node, ast.UnaryOp):
        signed = isinstance(node.op, (ast.USub, ast.UAdd)) and isinstance(node.operand, ast.Constant)
        if signed and type(node.operand.value) in (int, float):
            return
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        for element in node.elts:
            check_literal(element)
        return
    if isinstance(node, ast.Dict):
        check_dict(node)
        return
    refuse(EXPRESSIONS.get(type(node).__name__, f"a {type(node).__name__} expression"), node)


def check_dict(node):
    seen = {}
    for key, value in zip(node.keys, node.values):
        if key is None:
            refuse("a ** unpacking", value)
        check_literal(key)
        check_literal(value)
        if isinstance(key, ast.Constant):
            try:
                first = seen.get(key.value)
            except TypeError:
                first = None
            if first is not None:
                raise ReadError(f"duplicate key {key.value!r} in a dict (first on line {first})", key.lineno)
            seen[key.value] = key.lineno


def assigned_name(statement):
    """The name a top-level statement assigns; refuses everything but `name = <literal>`."""
    if isinstance(statement, ast.Expr):
        if isinstance(statement.value, ast.Constant) and isinstance(statement.value.value, str):
            return None  # a docstring
        if isinstance(statement.value, ast.Constant):
            refuse("a bare expression", statement)
        refuse(EXPRESSIONS.get(type(statement.value).__name__, "a bare expression"), statement.value)
    if not isinstance(statement, ast.Assign):
        kind = type(statement).__name__
        refuse(STATEMENTS.get(kind, f"a {kind} statement"), statement)
    if len(statement.targets) > 1:
        refuse("a chained assignment", statement)
    target = statement.targets[0]
    if isinstance(target, (ast.Tuple, ast.List)):
        refuse("an unpacking assignment", statement)
    if isinstance(target, ast.Subscript):
        refuse("an item assignment", statement)
    if not isinstance(target, ast.Name):
        refuse("an attribute assignment", statement)
    check_literal(statement.value)
    return target.id


def evaluate(node, where):
    try:
        return ast.literal_eval(node)
    except Exception as error:  # e.g. an unhashable dict key
        raise ReadError(f"{where} is not a literal value ({error})", node.lineno) from None


def kind_of(value):
    """The kind of a scalar value, or a description of why it is not allowed."""
    if isinstance(value, bool):
        return "bool", None
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INT:
            return None, f"integer {value} is too large (at most 2**53 - 1)"
        return "int", None
    if isinstance(value, float):
        if not math.isfinite(value):
            return None, f"{value!r} is not allowed (numbers must be finite)"
        return "float", None
    if isinstance(value, str):
        return "str", None
    names = {dict: "a nested dict", list: "a nested list", tuple: "a tuple", set: "a set", frozenset: "a set",
             bytes: "bytes", complex: "a complex number", type(None): "None"}
    return None, f"{names.get(type(value), type(value).__name__)} is not allowed"


def tag_of(value, where):
    """The type tag of one variable's value; raises ReadError for values that are not allowed."""
    if not isinstance(value, list):
        kind, problem = kind_of(value)
        if problem:
            raise ReadError(f"{where}: {problem}; values must be text, numbers, booleans or lists of those")
        return kind
    kinds = set()
    for item in value:
        kind, problem = kind_of(item)
        if problem:
            raise ReadError(f"{where}: {problem} in a list; lists may hold only text, numbers or booleans")
        kinds.add(kind)
    if kinds == {"int", "float"}:
        return "list[float]"
    if len(kinds) > 1:
        words = {"str": "text", "int": "numbers", "float": "numbers", "bool": "booleans"}
        found = " and ".join(sorted({words[kind] for kind in kinds}))
        raise ReadError(f"{where}: a list must hold one kind of value (found {found})")
    return f"list[{kinds.pop()}]" if kinds else "list"


def read_section(name, node):
    if not isinstance(node, ast.Dict):
        raise ReadError(f"{name} must be a dict of variable names to values", node.lineno)
    entries = []
    for key, value_node in zip(node.keys, node.values):
        if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
            raise ReadError(f"{name}: variable names must be strings (found {ast.unparse(key)})", key.lineno)
        where = f"{name}[{key.value!r}]"
        value = evaluate(value_node, where)
        try:
            tag = tag_of(value, where)
        except ReadError as error:
            raise ReadError(error.message, value_node.lineno) from None
        entries.append({"name": key.value, "type": tag, "value": value})
    return entries


def key_lines(statement):
    """Each variable name of a section's dict literal, with the line it is on."""
    if statement is None or not isinstance(statement.value, ast.Dict):
        return {}
    return {key.value: key.lineno for key in statement.value.keys if isinstance(key, ast.Constant)}


def check_one_section_per_name(assignments):
    """A name in both sections is refused: `vars set NAME` could not say which one it changes,
    and the script would see two values under one name."""
    standard = key_lines(assignments.get("standard_vars"))
    advanced = key_lines(assignments.get("advanced_vars"))
    for name, line in advanced.items():
        if name in standard:
            raise ReadError(
                f"{name!r} is in both standard_vars (line {standard[name]}) and advanced_vars (line {line}); "
                "a variable must be in one of them: rename or remove one",
                line,
            )


def read_help(node):
    shape = "variable_help must be a dict like {'standard_vars': {'name': 'text', ...}, 'advanced_vars': {...}}"
    value = evaluate(node, "variable_help")
    if not isinstance(value, dict):
        raise ReadError(shape, node.lineno)
    result = {}
    for section in SECTIONS:
        texts = value.get(section, {})
        valid = isinstance(texts, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in texts.items())
        if not valid:
            raise ReadError(f"{shape}; variable_help[{section!r}] is not", node.lineno)
        result[section] = [{"name": k, "text": v} for k, v in texts.items()]
    return result


def read(path):
    try:
        with open(path, "rb") as file:
            source = file.read()
    except OSError as error:
        raise ReadError(f"cannot read the file ({error.strerror or error})") from None
    try:
        module = ast.parse(source, filename=path)
    except SyntaxError as error:
        raise ReadError(f"syntax error: {error.msg}", error.lineno) from None
    except (ValueError, RecursionError, MemoryError) as error:
        raise ReadError(f"syntax error: {error}") from None
    assignments = {}
    for statement in module.body:
        name = assigned_name(statement)
        if name is None:
            continue
        if name in assignments:
            first = assignments[name].lineno
            raise ReadError(f"{name!r} is assigned twice (first on line {first})", statement.lineno)
        assignments[name] = statement
    if not assignments:
        # An empty or comments-only file: no variables, as at ISIS (its own good-run fixture has one).
        return {section: [] for section in SECTIONS} | {"variable_help": {section: [] for section in SECTIONS}}
    if not any(section in assignments for section in SECTIONS):
        raise ReadError("reduce_vars.py defines neither standard_vars nor advanced_vars")
    for name, statement in assignments.items():
        if name not in SECTIONS and name != "variable_help":
            evaluate(statement.value, name)  # other names are ignored but must still be literals
    result = {}
    for section in SECTIONS:
        statement = assignments.get(section)
        result[section] = read_section(section, statement.value) if statement else []
    check_one_section_per_name(assignments)
    help_statement = assignments.get("variable_help")
    empty_help = {section: [] for section in SECTIONS}
    result["variable_help"] = read_help(help_statement.value) if help_statement else empty_help
    return result


def main(argv):
    if len(argv) != 2:
        print(json.dumps({"error": "usage: read_reduce_vars.py <path>", "line": None}))
        return 2
    try:
        result = read(argv[1])
    except ReadError as error:
        print(json.dumps({"error": error.message, "line": error.line}))
        return 2
    except RecursionError:
        print(json.dumps({"error": "the file nests values too deeply", "line": None}))
        return 2
    print(json.dumps(result, ensure_ascii=True, allow_nan=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
