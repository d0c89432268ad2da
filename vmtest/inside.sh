#!/bin/bash
# The test run inside the VM (started by vmtest/init through vmtest.sh).
# Stages, each a line "VMTEST_STAGE <name> <passed> <failed> <secs> <binary>":
#   probe     vm_probe: skeleton load, BPF_PROG_TEST_RUN, XDP+TC on a veth pair
#   dataplane vm_dp: the xevpn programs load through libxevpn-dp and attach
#             to a veth pair in every port role
#   attach    vm_attach: every other BPF object of bpf/ (and the probe) loads,
#             every XDP/TC program attaches to a veth (TC: ingress and egress)
#   pkt_*     every BPF_PROG_TEST_RUN packet suite found in the build tree
#   netns_*   the dataplane netns suite (two leaves over VXLAN), if built
# Full output of each stage goes to $VMTEST_OUT/logs/<name>.log; the console
# gets the summary and the tail of what failed. Exit 0 only if all passed.
#
# Tunables (environment): VMTEST_PKT_GLOB (pkt_*), VMTEST_NETNS_GLOB
# (netns_dataplane* netns_dp*), VMTEST_NETNS_FILTER (Criterion --filter),
# VMTEST_STAGE_TIMEOUT (180 s per stage), VMTEST_BIN_VARIANT (release or san).
set -uo pipefail
if [ -z "${VMTEST:-}" ]; then
	echo "inside.sh runs inside the test VM: use make vmtest" >&2
	exit 2
fi
top=$(pwd)
build=${XEVPN_BUILD:-$top/build}
out=${VMTEST_OUT:?}
logs=$out/logs
rm -rf "$logs"; mkdir -p "$logs"
results=$out/results.txt
: > "$results"
run=${XEVPN_TEST_RUN:-vm}
stage_timeout=${VMTEST_STAGE_TIMEOUT:-180}
pkt_glob=${VMTEST_PKT_GLOB:-pkt_*}
netns_glob=${VMTEST_NETNS_GLOB:-netns_dataplane* netns_dp*}
total_pass=0 total_fail=0

# The binary to run: from VMTEST_BIN_VARIANT if set and built there (make
# vmtest sets it to the variant it just built), else the newest of the
# variants (release wins a tie: ASan under TCG is slower).
pick() {
	local rel=$1 best='' f v
	if [ -n "${VMTEST_BIN_VARIANT:-}" ] && [ -x "$build/$VMTEST_BIN_VARIANT/$rel" ]; then
		echo "$build/$VMTEST_BIN_VARIANT/$rel"
		return
	fi
	for v in release san; do
		f=$build/$v/$rel
		[ -f "$f" ] && [ -x "$f" ] || continue
		if [ -z "$best" ] || [ "$f" -nt "$best" ]; then best=$f; fi
	done
	echo "$best"
}

# Suite names matching the globs, from every variant's selftests directory.
suites() {
	local g f
	for g in "$@"; do
		for f in "$build"/*/selftests/$g; do
			[ -f "$f" ] && [ -x "$f" ] && basename "$f"
		done
	done | sort -u
}

sweep() { "$top/selftests/sweep" "$run" >/dev/null 2>&1 || true; }

# stage NAME KIND BINARY ARGS...   KIND is tap or criterion
stage() {
	local name=$1 kind=$2 bin=$3 log=$logs/$1.log start rc pass fail synth
	shift 3
	printf 'vmtest: %-28s ' "$name"
	start=$(date +%s)
	timeout -k 5 "$stage_timeout" "$bin" "$@" > "$log" 2>&1
	rc=$?
	sweep
	pass=0 fail=0
	if [ "$kind" = criterion ] && synth=$(grep -aE 'Synthesis: Tested: ' "$log" | tail -1) && [ -n "$synth" ]; then
		pass=$(sed -E 's/.*Passing: ([0-9]+).*/\1/' <<<"$synth")
		fail=$(( $(sed -E 's/.*Failing: ([0-9]+).*/\1/' <<<"$synth") + $(sed -E 's/.*Crashing: ([0-9]+).*/\1/' <<<"$synth") ))
	else
		pass=$(grep -acE '^ok [0-9]+' "$log")
		fail=$(grep -acE '^not ok [0-9]+' "$log")
	fi
	if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then fail=1; fi
	if [ $((pass + fail)) -eq 0 ]; then fail=1; fi
	local secs=$(( $(date +%s) - start ))
	printf '%4d passed %3d failed %4ds  %s\n' "$pass" "$fail" "$secs" "${bin#"$build"/}"
	if [ "$fail" -ne 0 ]; then
		echo "--- $name (rc $rc), from $log:"
		# TAP/Criterion failures, and the verifier's verdict (the line above
		# "processed N insns") for programs it rejected
		grep -aE -B1 '^not ok|\[(FAIL|----)\]|error|^processed [0-9]+ insns' "$log" |
			grep -avE '^(--|processed [0-9]+ insns.*)$' | tail -30 | sed 's/^/    /'
	fi
	echo "VMTEST_STAGE $name $pass $fail $secs ${bin#"$build"/}" | tee -a "$results" >/dev/null
	total_pass=$((total_pass + pass)) total_fail=$((total_fail + fail))
}

missing() {
	echo "vmtest: $1: MISSING ($2)"
	echo "VMTEST_STAGE $1 0 1 0 -" >> "$results"
	total_fail=$((total_fail + 1))
}

echo "vmtest: kernel $(uname -r), $(nproc) cpus, build $build"

# A veth pair in the VM's own namespace (the VM is private to this run),
# created per stage: the sweep after each stage removes it.
veth() {
	ip link add "${run}p0" type veth peer name "${run}p1" &&
		ip link set "${run}p0" up && ip link set "${run}p1" up ||
		echo "vmtest: cannot create the veth pair ${run}p0/${run}p1"
}

probe=$(pick vmtest/vm_probe)
veth
if [ -n "$probe" ]; then stage probe tap "$probe" "${run}p0" "${run}p1"
else missing probe "build vmtest/vm_probe first"; fi

# The dataplane through its own loader (libxevpn-dp): the programs load with
# whatever fallbacks it applies for this kernel, every role attaches.
dp=$(pick vmtest/vm_dp)
if [ -n "$dp" ]; then
	veth
	stage dataplane tap "$dp" "${run}p0" "${run}p1"
fi

# Every other BPF object of the product, loaded and attached generically.
attach=$(pick vmtest/vm_attach)
objs=()
for src in "$top"/bpf/*.bpf.c; do
	[ -e "$src" ] || continue
	name=$(basename "$src" .c)
	[ -n "$dp" ] && [ "$name" = xevpn.bpf ] && continue
	o=$build/bpf/$name.o
	if [ -f "$o" ]; then objs+=("$o"); else echo "vmtest: $o not built, not checked"; fi
done
[ -f "$build/bpf/vm_probe.bpf.o" ] && objs+=("$build/bpf/vm_probe.bpf.o")
if [ -n "$attach" ] && ((${#objs[@]})); then
	veth
	stage attach tap "$attach" -i "${run}p0" -p "/sys/fs/bpf/${run}-attach" "${objs[@]}"
else missing attach "vm_attach or BPF objects not built"; fi

for s in $(suites $pkt_glob); do
	stage "$s" criterion "$(pick "selftests/$s")" --jobs 2
done

netns=$(suites $netns_glob)
if [ -n "$netns" ]; then
	for s in $netns; do
		stage "$s" criterion "$(pick "selftests/$s")" --jobs 1 \
			${VMTEST_NETNS_FILTER:+--filter "$VMTEST_NETNS_FILTER"}
	done
else
	echo "vmtest: no netns data-path suite built ($netns_glob)"
fi

echo "VMTEST_TOTAL $total_pass $total_fail" | tee -a "$results"
echo "vmtest: $total_pass passed, $total_fail failed on $(uname -r)"
[ "$total_fail" -eq 0 ] && [ "$total_pass" -gt 0 ]
