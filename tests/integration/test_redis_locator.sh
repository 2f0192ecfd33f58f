#!/bin/bash
# ctest entry: bash test_redis_locator.sh /path/to/cppbx (tests/CMakeLists.txt).
exec /usr/bin/python3 -B "$(dirname "$0")/test_redis_locator.py" "$@"
