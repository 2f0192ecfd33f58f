#!/bin/bash
# ctest entry: bash test_cross_node_calls.sh /path/to/cppbx
exec /usr/bin/python3 -B "$(dirname "$0")/test_cross_node_calls.py" "$@"
