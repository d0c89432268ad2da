#!/bin/bash
# Deliberately failing in-VM script: proves that a failure inside the VM comes
# out as a failing `make vmtest` (vm_suite.sh checks this once per run).
echo "selftest-fail: running on $(uname -r), exiting 3 on purpose"
exit 3
