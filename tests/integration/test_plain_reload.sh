#!/bin/bash
# ctest entry: bash test_plain_reload.sh /path/to/cppbx (the lead's tests/CMakeLists.txt).
exec /usr/bin/python3 -B "$(dirname "$0")/test_plain_reload.py" "$@"
