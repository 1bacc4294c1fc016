"""The safe expression language of the ETL steps: conditions (``filter``) and derivations (``map``).

Text is tokenized and parsed by this package's own recursive-descent parser into a small tree,
compiled once into closures and evaluated per record. Nothing reaches Python's ``eval``: the
only callable things are the functions listed in :mod:`.functions`.

>>> cond = compile_condition("amount >= 10 and customer.country in ['FR', 'DE']")
>>> cond.test({"amount": 12, "customer": {"country": "FR"}})
True
>>> compile_expression("round(price * qty, 2)").evaluate({"price": 2.675, "qty": 1})
2.68
"""
from .compiled import Condition, Expression, compile_condition, compile_expression
from .errors import EvalError, ParseError
from .parser import MAX_DEPTH, MAX_LENGTH, parse

__all__ = [
    "Condition",
    "EvalError",
    "Expression",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "ParseError",
    "compile_condition",
    "compile_expression",
    "parse",
]
