#!/bin/bash
# TAP suite, the last stage of `make test`: the BPF selftests on the Debian
# 6.1 LTS kernel in a VM (vmtest/vmtest.sh), after checking once that a
# failing in-VM script does fail the run. Prints one TAP line per in-VM stage,
# one per packet suite comparing its count with the host run, and
#   RESULT vmtest_6_1_passed <n>     (tests that passed inside the VM)
# Skips only when qemu is not installed. The VM runs whatever the build tree
# holds (the newest of the release and san builds of each binary).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
build=$(realpath -m "${XEVPN_BUILD:-$top/build}")
kernel=${VMTEST_SUITE_KERNEL:-6.1}
tag=${kernel//[.-]/_}
# The runner gives a shell suite 300 s; keep the VM runs inside that.
budget=${VMTEST_SUITE_BUDGET:-280}
start=$(date +%s)

n=0
tap() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi
}

if ! command -v "${QEMU:-qemu-system-x86_64}" >/dev/null; then
	echo "1..1"
	echo "ok 1 # SKIP qemu-system-x86_64 not installed"
	exit 0
fi

suite_out=$build/vmtest/suite
mkdir -p "$suite_out"
# Show the last lines of a run's console log as TAP diagnostics.
show() { echo "# $1:"; tail -n "${3:-25}" "$2" 2>/dev/null | sed 's/^/#   /'; }

# 1. A failing script inside the VM must make the run fail, with the script's
# own status (3) coming out, not a boot failure.
fail_out=$suite_out/selftest-fail
KERNEL=$kernel VMTEST_SCRIPT=vmtest/selftest-fail.sh VMTEST_OUT=$fail_out VMTEST_TIMEOUT=120 \
	VMTEST_ACCEL=${VMTEST_ACCEL:-auto} "$here/vmtest.sh" > "$suite_out/selftest-fail.log" 2>&1
rc=$?
inner=$(cat "$fail_out/rc" 2>/dev/null)
[ "$rc" -ne 0 ] && [ "$inner" = 3 ] && grep -qa 'exiting 3 on purpose' "$fail_out/console.log"
ok=$?
tap $ok "$kernel: a failing in-VM script fails vmtest (exit $rc, in-VM status ${inner:-none})"
[ $ok = 0 ] || { show "vmtest output" "$suite_out/selftest-fail.log"; show "console" "$fail_out/console.log"; }

# 2. The real run.
out=$suite_out/inside
left=$(( budget - ($(date +%s) - start) ))
[ "$left" -lt 60 ] && left=60
KERNEL=$kernel VMTEST_OUT=$out VMTEST_TIMEOUT=$left VMTEST_ACCEL=${VMTEST_ACCEL:-auto} \
	"$here/vmtest.sh" > "$suite_out/inside.log" 2>&1
rc=$?
tap $rc "$kernel: in-VM selftests exit 0 (exit $rc; console log ${out#"$top"/}/console.log)"
[ $rc = 0 ] || show "console" "$out/console.log" 40

passed=0
if [ -s "$out/results.txt" ] && [ "$(cat "$out/rc" 2>/dev/null)" != 255 ]; then
	while read -r key name pass fail secs bin; do
		[ "$key" = VMTEST_STAGE ] || continue
		tap "$([ "$fail" = 0 ] && [ "$pass" -gt 0 ] && echo 0 || echo 1)" \
			"$kernel: $name: $pass passed, $fail failed in ${secs}s ($bin)"
		passed=$((passed + pass))
		case $name in pkt_*) ;; *) continue ;; esac
		# Same packet-test count as on the host: from this run's host log if it
		# is newer than the binary, otherwise by running the binary here.
		hostlog=$build/test-logs/$name.log
		if ! [ -f "$hostlog" ] || ! [ "$hostlog" -nt "$build/$bin" ]; then
			hostlog=$suite_out/host-$name.log
			timeout -k 5 120 "$build/$bin" --jobs 2 > "$hostlog" 2>&1
		fi
		host=$(grep -aE 'Synthesis: Tested: ' "$hostlog" | tail -1 | sed -E 's/.*Passing: ([0-9]+).*/\1/')
		tap "$([ -n "$host" ] && [ "$host" = "$pass" ] && echo 0 || echo 1)" \
			"$kernel: $name passes as many packet tests as on the host (vm $pass, host ${host:-?})"
	done < "$out/results.txt"
else
	tap 1 "$kernel: the VM produced results (${out#"$top"/}/results.txt)"
fi
echo "RESULT vmtest_${tag}_passed $passed"
echo "# vmtest on $kernel took $(( $(date +%s) - start ))s"
echo "1..$n"
