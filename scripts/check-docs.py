#!/usr/bin/env python3
"""Fails (exit 1) when a public or open declaration in Sources/ has no doc comment.

A declaration counts as documented when the line directly above it (attribute lines such as
`@discardableResult` may sit between) is a `///` comment or ends a `/** ... */` block. Members of a
`public extension` are public too and are checked the same way. Enum cases are not checked.

Usage: scripts/check-docs.py [directory ...]   (default: Sources, relative to the repository root)
"""
import os
import re
import sys

MODIFIERS = r"(?:(?:final|override|nonisolated|static|class|convenience|required|indirect|mutating|nonmutating|dynamic|lazy|optional|weak|unowned)\s+)*"
ATTRIBUTES = r"(?:@[\w.]+(?:\([^)]*\))?\s+)*"
PUBLIC_DECL = re.compile(
    r"^" + ATTRIBUTES + MODIFIERS
    + r"(?:public\s|open\s+(?:class|func|var|let|subscript|init|static|override|final|nonisolated)\b)"
)
PUBLIC_EXTENSION = re.compile(r"^" + ATTRIBUTES + r"public\s+extension\b")
MEMBER_DECL = re.compile(
    r"^" + ATTRIBUTES + MODIFIERS
    + r"(?:func|init|var|let|subscript|typealias|struct|enum|class|actor|protocol)\b"
)
NOT_PUBLIC = re.compile(r"\b(?:private|fileprivate|internal|package)\b")
STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def braces(line: str) -> int:
    code = STRING.sub('""', line.split("//", 1)[0])
    return code.count("{") - code.count("}")


def documented(lines: list[str], i: int) -> bool:
    j = i - 1
    while j >= 0 and lines[j].strip().startswith("@"):
        j -= 1
    if j < 0:
        return False
    above = lines[j].strip()
    if above.startswith("///"):
        return True
    if above.endswith("*/"):  # a /** ... */ block (a plain /* ... */ one does not count)
        while j >= 0 and "/*" not in lines[j]:
            j -= 1
        return j >= 0 and "/**" in lines[j]
    return False


def check(path: str) -> list[str]:
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    problems = []
    depth = 0
    extension_depth = None  # brace depth inside a `public extension`, while in one
    in_block_comment = False
    in_multiline_string = False
    for i, line in enumerate(lines):
        s = line.strip()
        if in_block_comment:
            if "*/" in s:
                in_block_comment = False
            continue
        if in_multiline_string:
            if s.count('"""') % 2 == 1:
                in_multiline_string = False
            continue
        if s.startswith("/*") and "*/" not in s:
            in_block_comment = True
            continue
        if s.startswith("//"):
            continue
        public = PUBLIC_DECL.match(s) and not s.startswith("public import ")
        if public and PUBLIC_EXTENSION.match(s):
            public = False
            if depth == 0:
                extension_depth = depth + 1
        elif extension_depth is not None and depth == extension_depth:
            if MEMBER_DECL.match(s) and not NOT_PUBLIC.search(s.split("(")[0].split("=")[0]):
                public = True
        if public and not documented(lines, i):
            problems.append(f"{path}:{i + 1}: {s}")
        depth += braces(line)
        if extension_depth is not None and depth < extension_depth:
            extension_depth = None
        if s.count('"""') % 2 == 1:
            in_multiline_string = True
    return problems


def main() -> int:
    root = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    dirs = sys.argv[1:] or [os.path.join(root, "Sources")]
    problems = []
    for d in dirs:
        for dirpath, dirnames, filenames in os.walk(d):
            dirnames[:] = sorted(n for n in dirnames if not n.endswith(".docc"))
            for name in sorted(filenames):
                if name.endswith(".swift"):
                    problems += check(os.path.join(dirpath, name))
    if problems:
        for p in problems:
            print(os.path.relpath(p, root) if p.startswith(root) else p)
        print(f"check-docs: {len(problems)} public declaration(s) without a /// comment", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
