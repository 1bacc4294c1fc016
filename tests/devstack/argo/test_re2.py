"""Go (RE2) regular expressions read as Go reads them (checked against Go in test_conformance.py)."""
import pytest

from devstack.argo import re2


@pytest.mark.parametrize("pattern, text, matches", [
    ("^FR$", "FR", True),
    ("^FR$", "FR\n", False),
    ("FR$", "xFR\n", False),
    (r"^FR\z", "FR", True),
    ("(?m)^FR$", "FR\nDE", True),
    ("^[$]$", "$", True),
    (r"^a\s$", "a\x0b", False),
    (r"^a\s$", "a\t", True),
    (r"^\d$", "٣", False),
    (r"^\w$", "é", False),
    ("(?i)^é$", "É", True),
    ("[]a]", "]", True),
    ("[[]", "[", True),
    ("[a&&b]", "&", True),
    (r"^\x{41}\x{e9}$", "Aé", True),
    ("^x.y$", re2.go_text(b"x\xffy".decode("utf-8", "surrogateescape")), True),
    (r"^x\x{FFFD}y$", re2.go_text(b"x\xffy".decode("utf-8", "surrogateescape")), True),
], ids=["dollar-end", "dollar-not-before-final-newline", "unanchored-dollar", "backslash-z",
        "leading-multiline", "dollar-in-class", "space-no-vertical-tab", "space-tab", "digit-ascii",
        "word-ascii", "ignore-case-unicode", "bracket-first-in-class", "bracket-in-class", "ampersands-in-class", "hex-escape-with-braces",
        "dot-matches-an-invalid-byte", "invalid-byte-is-the-replacement-rune"])
def test_matches_as_go(pattern, text, matches):
    assert bool(re2.compile(pattern).search(text)) is matches


@pytest.mark.parametrize("pattern, reason", [
    ("(?=x)", "lookaround"), (r"(a)\1", "backreferences"), (r"a\Z", "no \\\\Z"),
    ("[[:alpha:]]", "POSIX"), ("(?U)a+", "ungreedy"), ("a(?m)$", r"\(\?m\)"), (r"[\S]", "inside a class"),
    ("(", "missing"),
], ids=["lookahead", "backreference", "backslash-Z", "posix-class", "ungreedy", "late-multiline",
        "negated-class-escape-in-class", "unbalanced"])
def test_refuses_what_go_refuses_or_python_reads_otherwise(pattern, reason):
    with pytest.raises(ValueError, match=reason):
        re2.compile(pattern)
