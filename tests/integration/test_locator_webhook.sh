#!/bin/bash
# ctest entry: bash test_locator_webhook.sh /path/to/cppbx
exec /usr/bin/python3 -B "$(dirname "$0")/test_locator_webhook.py" "$@"
