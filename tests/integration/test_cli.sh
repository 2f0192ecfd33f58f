#!/bin/bash
# ctest entry: bash test_cli.sh /path/to/cppbx
exec /usr/bin/python3 -B "$(dirname "$0")/test_cli.py" "$@"
