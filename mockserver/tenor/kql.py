"""KQL (Kibana Query Language), the part Tenor's clients send: a small recursive-descent parser.

    query   := or? EOF                      an empty query matches everyone
    or      := and ("or" and)*
    and     := not ("and" not)*
    not     := "not" not | "(" or ")" | clause
    clause  := FIELD ":" value | FIELD ("<" | "<=" | ">" | ">=") TERM
    value   := "{" or "}"                   a nested query over the field's relation documents
             | "[" TERM "to" TERM "]"       a range, both ends included; `*` leaves an end open
             | "(" vor ")"                  values joined by and / or / not
             | TERM                         a word (with `*` wildcards; `*` alone: the field has a value)
                                            or a "quoted phrase"
    vor     := vand ("or" vand)*;  vand := vnot ("and" vnot)*;  vnot := "not" vnot | "(" vor ")" | TERM

Keywords are case-insensitive. A word ends at whitespace or one of ( ) [ ] { } : < > "; a backslash escapes the
next character. Text without a field (KQL's free-text search) is refused, as is anything else outside this
grammar: every refusal is a `KqlError` that says where and what was expected, never another exception.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_LENGTH = 4000  # the contract's maxLength for kql
MAX_DEPTH = 32  # nesting of parentheses and braces; deeper is refused before Python's recursion limit
_SPECIAL = set('()[]{}:<>"')
_KEYWORDS = {"and", "or", "not", "to"}


class KqlError(ValueError):
    """A query outside the grammar, with the position (0-based character offset) it went wrong at."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"Ugyldig KQL ved tegn {position + 1}: {message}")
        self.position = position


# --- the tree -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Term:
    text: str
    quoted: bool = False

    @property
    def is_exists(self) -> bool:
        return not self.quoted and self.text == "*"

    @property
    def has_wildcard(self) -> bool:
        return not self.quoted and "*" in self.text


@dataclass(frozen=True)
class Range:
    low: str | None  # None: open
    high: str | None
    low_inclusive: bool = True
    high_inclusive: bool = True


@dataclass(frozen=True)
class ValueAnd:
    items: tuple[Value, ...]


@dataclass(frozen=True)
class ValueOr:
    items: tuple[Value, ...]


@dataclass(frozen=True)
class ValueNot:
    item: Value


@dataclass(frozen=True)
class Nested:
    query: Query


Value = Term | Range | ValueAnd | ValueOr | ValueNot | Nested


@dataclass(frozen=True)
class Field:
    name: str
    value: Value
    position: int = 0


@dataclass(frozen=True)
class And:
    items: tuple[Query, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Query, ...]


@dataclass(frozen=True)
class Not:
    item: Query


@dataclass(frozen=True)
class MatchAll:
    pass


Query = Field | And | Or | Not | MatchAll


# --- tokens -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Token:
    kind: str  # "word", "string", one of ( ) [ ] { } :, "cmp", "eof"
    text: str
    position: int

    def keyword(self) -> str | None:
        return self.text.lower() if self.kind == "word" and self.text.lower() in _KEYWORDS else None

    def describe(self) -> str:
        if self.kind == "eof":
            return "slutten av spørringen"
        return f"'{self.text}'" if self.kind != "string" else f'"{self.text}"'


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c in "<>":
            op = text[i:i + 2] if text[i + 1:i + 2] == "=" else c
            tokens.append(Token("cmp", op, i))
            i += len(op)
        elif c == '"':
            start, i, out = i, i + 1, []
            while i < n and text[i] != '"':
                if text[i] == "\\" and i + 1 < n:
                    i += 1
                out.append(text[i])
                i += 1
            if i >= n:
                raise KqlError("anførselstegnet lukkes aldri", start)
            tokens.append(Token("string", "".join(out), start))
            i += 1
        elif c in _SPECIAL:
            tokens.append(Token(c, c, i))
            i += 1
        else:
            start, out = i, []
            while i < n and not text[i].isspace() and text[i] not in _SPECIAL:
                if text[i] == "\\":
                    if i + 1 >= n:
                        raise KqlError("en omvendt skråstrek på slutten escaper ingenting", i)
                    i += 1
                out.append(text[i])
                i += 1
            tokens.append(Token("word", "".join(out), start))
    tokens.append(Token("eof", "", n))
    return tokens


# --- the parser ---------------------------------------------------------------------------------------------

class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0

    @property
    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        token = self.tokens[self.i]
        if token.kind != "eof":
            self.i += 1
        return token

    def expect(self, kind: str, what: str) -> Token:
        token = self.peek
        if token.kind != kind:
            raise KqlError(f"ventet {what}, fant {token.describe()}", token.position)
        return self.take()

    def enter(self, token: Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise KqlError(f"spørringen er nøstet dypere enn {MAX_DEPTH} nivåer", token.position)

    # queries
    def query(self) -> Query:
        if self.peek.kind == "eof":
            return MatchAll()
        q = self.or_()
        if self.peek.kind != "eof":
            token = self.peek
            hint = "; mangler 'and' eller 'or' mellom to vilkår?" if token.kind in ("word", "string", "(") else ""
            raise KqlError(f"uventet {token.describe()}{hint}", token.position)
        return q

    def or_(self) -> Query:
        items = [self.and_()]
        while self.peek.keyword() == "or":
            self.take()
            items.append(self.and_())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_(self) -> Query:
        items = [self.not_()]
        while self.peek.keyword() == "and":
            self.take()
            items.append(self.not_())
        return items[0] if len(items) == 1 else And(tuple(items))

    def not_(self) -> Query:
        token = self.peek
        if token.keyword() == "not":
            self.take()
            self.enter(token)
            inner = self.not_()
            self.depth -= 1
            return Not(inner)
        if token.kind == "(":
            self.take()
            self.enter(token)
            inner = self.or_()
            self.expect(")", "')'")
            self.depth -= 1
            return inner
        return self.clause()

    def clause(self) -> Query:
        token = self.peek
        if token.kind == "string":
            raise KqlError(f"fritekstsøk ({token.describe()} uten felt) støttes ikke; skriv felt:verdi",
                           token.position)
        if token.kind != "word" or token.keyword() is not None:
            raise KqlError(f"ventet et feltnavn, fant {token.describe()}", token.position)
        self.take()
        after = self.peek
        if after.kind == "cmp":
            self.take()
            bound = self.term("en verdi å sammenligne med")
            if bound.has_wildcard:
                raise KqlError("en sammenligning kan ikke ha jokertegn", after.position)
            return Field(token.text, _comparison(after.text, bound.text), token.position)
        if after.kind != ":":
            raise KqlError(f"fritekstsøk ('{token.text}' uten felt) støttes ikke; skriv felt:verdi",
                           token.position)
        self.take()
        return Field(token.text, self.value(), token.position)

    # values
    def value(self) -> Value:
        token = self.peek
        if token.kind == "{":
            self.take()
            self.enter(token)
            nested = self.or_()
            self.expect("}", "'}'")
            self.depth -= 1
            return Nested(nested)
        if token.kind == "[":
            self.take()
            low = self.term("starten av intervallet")
            to = self.take()
            if to.keyword() != "to":
                raise KqlError(f"ventet 'to' i intervallet, fant {to.describe()}", to.position)
            high = self.term("slutten av intervallet")
            self.expect("]", "']'")
            return Range(None if low.is_exists else low.text, None if high.is_exists else high.text)
        if token.kind == "(":
            self.take()
            self.enter(token)
            inner = self.value_or()
            self.expect(")", "')'")
            self.depth -= 1
            return inner
        return self.term("en verdi")

    def value_or(self) -> Value:
        items = [self.value_and()]
        while self.peek.keyword() == "or":
            self.take()
            items.append(self.value_and())
        return items[0] if len(items) == 1 else ValueOr(tuple(items))

    def value_and(self) -> Value:
        items = [self.value_not()]
        while self.peek.keyword() == "and":
            self.take()
            items.append(self.value_not())
        return items[0] if len(items) == 1 else ValueAnd(tuple(items))

    def value_not(self) -> Value:
        token = self.peek
        if token.keyword() == "not":
            self.take()
            self.enter(token)
            inner = self.value_not()
            self.depth -= 1
            return ValueNot(inner)
        if token.kind == "(":
            self.take()
            self.enter(token)
            inner = self.value_or()
            self.expect(")", "')'")
            self.depth -= 1
            return inner
        return self.term("en verdi")

    def term(self, what: str) -> Term:
        token = self.peek
        if token.kind == "string":
            self.take()
            return Term(token.text, quoted=True)
        if token.kind == "word" and token.keyword() in (None, "to"):  # "to" is a keyword inside ranges only
            self.take()
            return Term(token.text)
        raise KqlError(f"ventet {what}, fant {token.describe()}", token.position)


def _comparison(op: str, bound: str) -> Range:
    if op.startswith(">"):
        return Range(bound, None, low_inclusive=op == ">=")
    return Range(None, bound, high_inclusive=op == "<=")


def parse(text: str) -> Query:
    """The query's tree, or KqlError."""
    if len(text) > MAX_LENGTH:
        raise KqlError(f"spørringen er lengre enn {MAX_LENGTH} tegn", MAX_LENGTH)
    return _Parser(text).query()
