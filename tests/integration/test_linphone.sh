#!/bin/bash
# ctest entry: bash test_linphone.sh /path/to/cppbx (picked up by the glob in tests/CMakeLists.txt).
exec /usr/bin/python3 "$(dirname "$0")/test_linphone.py" "$@"
