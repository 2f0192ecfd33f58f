#!/bin/bash
# ctest entry: bash test_tls_ws.sh /path/to/cppbx (globbed by tests/CMakeLists.txt).
exec /usr/bin/python3 -B "$(dirname "$0")/test_tls_ws.py" "$@"
