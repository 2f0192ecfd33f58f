#!/bin/bash
# ctest entry: bash test_http_api_registrations.sh /path/to/cppbx (tests/CMakeLists.txt globs test_*.sh).
exec /usr/bin/python3 -B "$(dirname "$0")/test_http_api_registrations.py" "$@"
