#!/bin/bash
# ctest entry: bash test_extension_backend.sh /path/to/cppbx (the lead's tests/CMakeLists.txt).
exec /usr/bin/python3 -B "$(dirname "$0")/test_extension_backend.py" "$@"
