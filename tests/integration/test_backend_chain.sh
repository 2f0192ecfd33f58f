#!/bin/bash
# ctest entry: bash test_backend_chain.sh /path/to/cppbx
exec /usr/bin/python3 -B "$(dirname "$0")/test_backend_chain.py" "$@"
