#!/bin/bash
# ctest entry: bash test_http_api_apply.sh /path/to/cppbx (tests/CMakeLists.txt globs test_*.sh).
exec /usr/bin/python3 -B "$(dirname "$0")/test_http_api_apply.py" "$@"
