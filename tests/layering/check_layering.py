#!/usr/bin/env python3
"""Layering and one-definition rules of the source tree (issue 16, point 3).

The build already keeps a target from including headers of libraries it does
not link (per-target include directories, see sg_expose_headers in the top
CMakeLists.txt). This check states the rules that the link graph alone cannot:

1. No stage includes another stage's headers. The stages are ingress,
   workers, keyservice, egress and portal; the only exception is the
   keyservice's client interface (keyservice/key_service.h), which the
   workers use to talk to the keyservice (the decryption failure guard's
   interface is in common/decrypt_guard.h). Shared code belongs in common/ (or
   the mail library common/mail/), and common/ includes no stage at all.
2. One definition each of the small helpers that used to be written in
   several places with different behaviour: ASCII lower/upper-casing
   (common/ascii.h), DomainOf (common/mail/address.cc), base64
   (common/mail/base64.cc) and the DER length writer (common/mail/der.cc).
3. Ignoring a Status or Result is an explicit, searchable call
   (.PermitUncheckedError(), common/result.h), never a bare (void) cast of a
   call in product code.
4. Test fakes (FakeClock, FakeKeyService, ... any class or struct named
   Fake* or Mock*) are defined under tests/ (tests/support/ for the shared
   ones), never in product code.

Usage: check_layering.py [--root DIR]   exit 0 when clean, 1 with one line
                                         per violation otherwise
       check_layering.py --self-test    proves each rule fires on a sample
"""
import argparse
import os
import re
import sys

STAGES = ("ingress", "workers", "keyservice", "egress", "portal")
# Headers of a stage that other stages may include (its client interface).
ALLOWED_CROSS_STAGE = {"keyservice/key_service.h"}
# Folders whose code must follow the one-definition rules (tests may keep
# independent reference implementations as oracles, e.g. OpenSSL's base64).
PRODUCT_DIRS = ("common", "ingress", "workers", "keyservice", "egress", "portal", "cmd", "bench")
SOURCE_SUFFIXES = (".cc", ".h", ".cpp", ".hpp")

INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
FAKE_DEFINITION_RE = re.compile(r"^\s*(?:class|struct)\s+((?:Fake|Mock)\w*)\b[^;]*$")
VOID_CALL_RE = re.compile(r"\(void\)\s*!?\s*\(?\*?[A-Za-z_][\w:]*(?:\)?(?:->|\.)[A-Za-z_]\w*)*\s*\(")

# (rule name, the one file allowed to define it, regexes that find a definition or a copy)
ONE_DEFINITION = [
    ("ASCII case conversion", "common/ascii.h", [
        re.compile(r"\bstd::(?:tolower|toupper)\s*\("),
        re.compile(r"(?<![\w:.>])(?:tolower|toupper)\s*\("),
        re.compile(r"(?<![\w.>])(?:std)?::(?:tolower|toupper)\b"),
        re.compile(r"-\s*'A'\s*\+\s*'a'|-\s*'a'\s*\+\s*'A'"),
        re.compile(r"\bc\s*[+-]\s*32\b|\bc\s*[|^]\s*0x20\b"),
        re.compile(r"^\s*(?:static\s+|inline\s+|constexpr\s+)*(?:std::string|char|void)\s+"
                   r"(?:Lower|Upper|ToLower|ToUpper|LowerAscii|UpperAscii|LowerChar|UpperChar)"
                   r"\s*\([^;]*$"),
    ]),
    ("DomainOf", "common/mail/address.cc", [
        re.compile(r"^\s*(?:static\s+|inline\s+)*std::string\s+(?:\w+::)*DomainOf\s*\([^;]*$"),
    ]),
    ("base64", "common/mail/base64.cc", [
        re.compile(r"\bEVP_(?:Encode|Decode)(?:Block|Update|Final|Init)\b|\bBIO_f_base64\b"),
        re.compile(r"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"),
        re.compile(r"^\s*(?:static\s+|inline\s+)*(?:std::string|void|Result<std::string>|bool)\s+"
                   r"\w*(?:Base64|B64)\w*\s*\([^;]*$", re.IGNORECASE),
    ]),
    ("DER length writer", "common/mail/der.cc", [
        re.compile(r"0x80\s*\|\s*\w+\)"),
        re.compile(r"^\s*(?:static\s+|inline\s+)*void\s+\w*Length\s*\(\s*std::string&[^;]*$"),
    ]),
]


def strip_comments(line, in_block):
    """The code of a line without // and /* */ comments (string contents kept)."""
    out = []
    i = 0
    n = len(line)
    in_string = None
    while i < n:
        if in_block:
            end = line.find("*/", i)
            if end < 0:
                return "".join(out), True
            i = end + 2
            in_block = False
            continue
        c = line[i]
        if in_string:
            out.append(c)
            if c == "\\" and i + 1 < n:
                out.append(line[i + 1])
                i += 2
                continue
            if c == in_string:
                in_string = None
            i += 1
            continue
        if c in "\"'":
            in_string = c
            out.append(c)
            i += 1
            continue
        if line.startswith("//", i):
            break
        if line.startswith("/*", i):
            in_block = True
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out), in_block


def check_file(rel, text):
    """Violations in one file: a list of "path:line: message"."""
    problems = []
    parts = rel.split("/")
    top = parts[0]
    in_block = False
    for number, raw in enumerate(text.splitlines(), 1):
        m = INCLUDE_RE.match(raw)
        if m:
            target = m.group(1)
            target_top = target.split("/")[0]
            if top in STAGES and target_top in STAGES and target_top != top and \
                    target not in ALLOWED_CROSS_STAGE:
                problems.append(f"{rel}:{number}: stage {top} includes {target} of stage "
                                f"{target_top} (move shared code to common/ or common/mail/; "
                                f"only {', '.join(sorted(ALLOWED_CROSS_STAGE))} may cross)")
            if top == "common" and target_top in STAGES:
                problems.append(f"{rel}:{number}: common/ includes {target}: common depends "
                                f"on no stage")
            continue
        if top not in PRODUCT_DIRS:
            continue
        code, in_block = strip_comments(raw, in_block)
        if VOID_CALL_RE.search(code):
            problems.append(f"{rel}:{number}: a bare (void) drops a call's result; handle it, "
                            f"or call .PermitUncheckedError() on a Status/Result: {raw.strip()[:100]}")
        fake = FAKE_DEFINITION_RE.search(code)
        if fake:
            problems.append(f"{rel}:{number}: test fake {fake.group(1)} defined in product code; "
                            f"test fakes live under tests/ (shared ones in tests/support/)")
        for name, home, patterns in ONE_DEFINITION:
            if rel == home:
                continue
            if any(p.search(code) for p in patterns):
                problems.append(f"{rel}:{number}: a copy of the {name} helper; use {home} "
                                f"(one definition in the tree): {raw.strip()[:100]}")
    return problems


def source_files(root):
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        if rel_dir == ".":
            dirnames[:] = [d for d in dirnames if not d.startswith(".") and d != "build" and
                           not d.startswith("build-") and d != "node_modules"]
        for f in filenames:
            if f.endswith(SOURCE_SUFFIXES):
                path = os.path.join(dirpath, f)
                yield os.path.relpath(path, root).replace(os.sep, "/"), path


def check_tree(root):
    problems = []
    for rel, path in sorted(source_files(root)):
        with open(path, encoding="utf-8", errors="replace") as fh:
            problems += check_file(rel, fh.read())
    return problems


def self_test():
    """Each rule must fire on a violating sample and stay quiet on a clean one."""
    must_fail = {
        "workers/policy_processor.h": '#include "egress/egress_dsn.h"\n',
        "ingress/x.cc": '#include "keyservice/keyservice_x509.h"\n',
        "common/queue.cc": '#include "workers/worker_pool.h"\n',
        "egress/a.cc": "  std::transform(s.begin(), s.end(), s.begin(), ::tolower);\n",
        "egress/b.cc": "    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);\n",
        "egress/c.cc": "std::string Lower(std::string s) {\n",
        "keyservice/d.cc": "std::string DomainOf(const std::string& address) {\n",
        "ingress/e.cc": "  int n = EVP_DecodeBlock(out, in, len);\n",
        "ingress/f.cc": "Result<std::string> DecodeBase64(std::string_view in) {\n",
        "workers/smime/g.cc": "  out.push_back(static_cast<char>(0x80 | n));\n",
        "workers/smime/h.cc": "void AppendLength(std::string& out, size_t len) {\n",
        "egress/i.cc": "  (void)producer_->Flush(std::chrono::seconds(5));\n",
        "common/j.cc": "      (void)db_->Close();\n",
        "keyservice/keyservice_clock.h": "class FakeClock : public Clock {\n",
        "egress/l.h": "struct MockSender final : Sender\n",
    }
    must_pass = {
        "workers/policy_processor.h": '#include "keyservice/key_service.h"\n',
        "workers/x.cc": '#include "common/mail/dsn.h"\n// std::tolower( in a comment\n',
        "cmd/smimegate/app.cc": '#include "egress/egress_service.h"\n#include "ingress/x.h"\n',
        "tests/workers/smime/t.cc": "  int n = EVP_EncodeBlock(out, in, len);  // reference\n",
        "common/ascii.h": "constexpr char AsciiLower(char c) { return c; }\n",
        "common/mail/address.cc": "std::string DomainOf(std::string_view address) {\n",
        "egress/y.cc": "  std::string d = mail::DomainOf(address);\n  auto b = AsciiLower(x);\n",
        "ingress/z.cc": '  const char* s = "/* not a comment";  if (x) y = tolower_table[c];\n',
        "egress/k.cc": "  (void)unused_parameter;\n  producer_->Flush(1s).PermitUncheckedError();\n",
        "tests/support/fake_clock.h": "class FakeClock final : public Clock {\n",
        "keyservice/m.h": "  struct Stub;\n  class FakeFactory;\n",
    }
    failures = []
    for rel, text in must_fail.items():
        if not check_file(rel, text):
            failures.append(f"rule did not fire on {rel}: {text.strip()}")
    for rel, text in must_pass.items():
        got = check_file(rel, text)
        if got:
            failures.append(f"false positive on {rel}: {got}")
    for f in failures:
        print("self-test:", f)
    print("self-test:", "ok" if not failures else f"{len(failures)} failure(s)")
    return 1 if failures else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", default=os.path.join(os.path.dirname(__file__), "..", ".."))
    parser.add_argument("--self-test", action="store_true")
    args = parser.parse_args()
    if args.self_test:
        return self_test()
    problems = check_tree(os.path.abspath(args.root))
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} layering violation(s)")
        return 1
    print("layering: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
