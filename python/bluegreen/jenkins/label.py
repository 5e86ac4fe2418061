"""Is this a Jenkins label expression? Checked before sync writes it where the Rollback job's agent is chosen.

Jenkins parses a label expression with an ANTLR grammar (core, src/main/antlr/hudson/model/labels/
LabelExpressionLexer.g4 and LabelExpressionParser.g4); an expression it cannot parse would only show at the first
rollback, during an incident ("Invalid label expression"), so the same grammar is checked here:

    expr  := iff EOF             iff := implies ('<->' implies)*     implies := or ('->' or)?   (no chaining)
    or    := and ('||' and)*     and := not ('&&' not)*              not := '!'? atom
    atom  := '(' iff ')' | ATOM | "quoted"
    ATOM  := one or more characters other than & | ! < > ( ) " ' space tab, '-' only when no '>' follows
    "quoted": backslash escapes b t n f r " ' \\ ; no CR or LF inside

Spaces and tabs between tokens are skipped. On top of the grammar: one line, at most 200 characters, and text
Jenkins' XML keeps unchanged (xmltext.py).
"""

from __future__ import annotations

import re

from bluegreen.jenkins.xmltext import unsafe_char

MAX_LENGTH = 200
_TOKEN = re.compile(r"""
    [ \t]*(?:
      (?P<op>&&|\|\||<->|->|!|\(|\))
    | (?P<quoted>"(?:\\[btnfr"'\\]|[^\\"\r\n])*")
    | (?P<atom>(?:[^&|!<>()"' \t-]|-(?!>))+)
    )""", re.VERBOSE)


def is_label_expression(text: str) -> bool:
    """True when Jenkins would parse `text` as a label expression (and it is one short line XML keeps)."""
    if not text.strip() or len(text) > MAX_LENGTH or "\n" in text or unsafe_char(text) is not None:
        return False
    tokens = _tokens(text)
    if tokens is None:
        return False
    parser = _Parser(tokens)
    return parser.iff() and parser.at_end()


def _tokens(text: str) -> list[str] | None:
    """The expression's tokens (operators as themselves, atoms and quoted strings as "atom"); None when a
    character starts no token (a lone `&`, `|`, `<`, `'`, an unterminated quote)."""
    tokens, pos = [], 0
    while pos < len(text):
        if not text[pos:].strip(" \t"):
            break
        match = _TOKEN.match(text, pos)
        if match is None:
            return None
        tokens.append(match.group("op") or "atom")
        pos = match.end()
    return tokens


class _Parser:
    """Recursive descent over the grammar in the module docstring; each rule returns whether it matched."""

    def __init__(self, tokens: list[str]) -> None:
        self.tokens, self.pos = tokens, 0

    def at_end(self) -> bool:
        return self.pos == len(self.tokens)

    def _take(self, token: str) -> bool:
        if self.pos < len(self.tokens) and self.tokens[self.pos] == token:
            self.pos += 1
            return True
        return False

    def _chain(self, operand, operator: str) -> bool:  # noqa: ANN001 - one of the rule methods
        """operand (operator operand)*"""
        if not operand():
            return False
        while self._take(operator):
            if not operand():
                return False
        return True

    def iff(self) -> bool:
        return self._chain(self.implies, "<->")

    def implies(self) -> bool:
        if not self.disjunction():
            return False
        return not self._take("->") or self.disjunction()

    def disjunction(self) -> bool:
        return self._chain(self.conjunction, "||")

    def conjunction(self) -> bool:
        return self._chain(self.negation, "&&")

    def negation(self) -> bool:
        self._take("!")
        return self.atom()

    def atom(self) -> bool:
        if self._take("("):
            return self.iff() and self._take(")")
        return self._take("atom")
