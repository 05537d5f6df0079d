#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""embed-file.py IN OUT NAME: writes C source OUT that holds file IN as
'const char NAME[]' (NUL-terminated) and 'const size_t NAME_len'."""
import sys

src, out, name = sys.argv[1:4]
data = open(src, "rb").read()
with open(out, "w") as f:
    f.write("/* Generated from %s by scripts/embed-file.py: do not edit. */\n" % src.split("/")[-1])
    f.write("#include <stddef.h>\n")
    f.write("const char %s[] = {\n" % name)
    for i in range(0, len(data), 16):
        f.write("    " + ", ".join("0x%02x" % b for b in data[i:i + 16]) + ",\n")
    f.write("    0x00};\nconst size_t %s_len = %d;\n" % (name, len(data)))
