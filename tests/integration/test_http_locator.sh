#!/bin/bash
# ctest entry: bash test_http_locator.sh /path/to/cppbx
exec /usr/bin/python3 -B "$(dirname "$0")/test_http_locator.py" "$@"
