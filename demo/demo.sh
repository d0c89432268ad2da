#!/bin/bash
# make demo: bring up the 3-leaf EVPN fabric in network namespaces, show
# all-active forwarding over both server links, fail leaf1's server link,
# show the traffic moving and the measured loss, restore it, tear down.
#
#   XEVPN_BIN=build/release ./demo/demo.sh [--hold] [--rate PPS]
#
# Everything is named after the run prefix $XEVPN_TEST_RUN (default
# xdemo<pid>) and removed on exit, Ctrl-C or a crash of the demo program.
set -uo pipefail
cd "$(dirname "$0")/.."
bin=${XEVPN_BIN:-build/release}
demo=$bin/demo/fabric-demo

if [ "$(id -u)" -ne 0 ]; then
	echo "make demo needs root: it creates network namespaces and loads BPF programs." >&2
	exit 1
fi
for f in "$demo" "$bin/xevpnd"; do
	if [ ! -x "$f" ]; then
		echo "demo: $f is missing; run 'make' first (make demo does it for you)." >&2
		exit 1
	fi
done
export XEVPN_BIN=$(cd "$bin" && pwd)
export XEVPN_TEST_RUN=${XEVPN_TEST_RUN:-xdemo$$}

sweep() { selftests/sweep "$XEVPN_TEST_RUN" >/dev/null 2>&1 || true; }
trap sweep EXIT
trap 'echo; echo "demo: interrupted, tearing down"; exit 130' INT TERM
"$demo" "$@"
