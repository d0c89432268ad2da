#!/bin/bash
# make demo: bring up the 3-leaf fabric in network namespaces, show active/active
# forwarding and a failover, tear everything down on exit or Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${XEVPN_BIN:-build/release}
if [ -x demo/fabric-demo ] || [ -x "$bin/demo/fabric-demo" ]; then
	exec "${bin}/demo/fabric-demo" "$@"
fi
echo "xevpn demo: the fabric demo is not built yet; showing what is built so far."
echo
echo "BPF objects:"
for o in build/bpf/*.bpf.o; do [ -e "$o" ] && printf '  %s\n' "$(basename "$o")"; done
echo "Programs:"
for b in "$bin"/*; do [ -x "$b" ] && [ -f "$b" ] && printf '  %s\n' "$(basename "$b")"; done
exit 0
