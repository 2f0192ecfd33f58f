#!/bin/bash
# ctest entry: bash test_baresip.sh /path/to/cppbx (the lead's tests/CMakeLists.txt).
exec /usr/bin/python3 -B "$(dirname "$0")/test_baresip.py" "$@"
