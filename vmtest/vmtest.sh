#!/bin/bash
# Boot a Debian kernel (default: the 6.1 LTS image) in qemu and run one test
# script inside it. The guest's root is the host's own / shared read-only over
# 9p, the build directory is shared read-write at the same path, so the test
# script runs the very binaries built on the host. Exit status: the script's.
#
# Environment (all optional; `make vmtest` passes them through):
#   KERNEL          6.1 (default), an exact ABI such as 6.1.0-56, or a path to
#                   a vmlinuz/vmlinux file (then VMTEST_MODDIR is required)
#   VMTEST_MODDIR   modules directory (…/lib/modules/<release>) for a local kernel
#   VMTEST_SCRIPT   script run inside the VM (default vmtest/inside.sh)
#   VMTEST_TIMEOUT  seconds for the whole VM run (default 600)
#   VMTEST_ACCEL    auto (default: KVM only if a probe boot works), tcg or kvm
#   VMTEST_MEM, VMTEST_CPUS   guest size (512M, 2)
#   VMTEST_SHELL    1: interactive shell in the VM after the script;
#                   fail: shell only if the script failed
#   VMTEST_CACHE    kernel package cache (default /var/cache/xevpn-vmtest)
#   VMTEST_OUT      output directory (default build/vmtest/<release>/<script>)
#   VMTEST_CMDLINE  extra kernel command line
#   VMTEST_MODULES  modules loaded before the tests (dependencies added)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)

KERNEL=${KERNEL:-6.1}
build=$(realpath -m "${XEVPN_BUILD:-$top/build}")
script=${VMTEST_SCRIPT:-vmtest/inside.sh}
cache=${VMTEST_CACHE:-/var/cache/xevpn-vmtest}
timeout_s=${VMTEST_TIMEOUT:-600}
accel=${VMTEST_ACCEL:-auto}
mem=${VMTEST_MEM:-512M}
cpus=${VMTEST_CPUS:-2}
shell_mode=${VMTEST_SHELL:-0}
modules=${VMTEST_MODULES:-virtio_pci 9pnet_virtio 9p veth sch_ingress cls_bpf act_bpf \
act_mirred act_gact vxlan bridge tun macvlan}
qemu=${QEMU:-qemu-system-x86_64}

log() { echo "vmtest: $*" >&2; }
die() { log "error: $*"; exit 2; }

command -v "$qemu" >/dev/null || die "$qemu not found (apt-get install qemu-system-x86)"
[ -x /bin/busybox ] && [[ $(file -L /bin/busybox 2>/dev/null) == *"statically linked"* ]] ||
	die "a static /bin/busybox is needed (apt-get install busybox-static)"
case $script in /*) ;; *) script=$top/$script ;; esac
[ -f "$script" ] || die "no such script: $script"

# --- kernel -----------------------------------------------------------------

# Newest installable linux-image-<KERNEL>…-amd64 package (generic flavour: the
# cloud flavour has no 9p). Only the local apt lists are read.
pick_package() {
	local esc=${KERNEL//./\\.} name best=
	for name in $(apt-cache pkgnames linux-image- 2>/dev/null |
			grep -E "^linux-image-${esc}([.-][0-9][0-9a-z.+~-]*)?-amd64\$" |
			grep -vE -- '-(cloud|rt)-amd64$' | sort -rV); do
		[[ $(apt-cache policy "$name" 2>/dev/null) == *"Candidate: "[0-9]* ]] && { best=$name; break; }
	done
	echo "$best"
}

# vmlinux from a bzImage: the payload is an xz stream; qemu boots the ELF
# directly (PVH entry), which saves the in-guest decompression.
unpack_vmlinux() {
	local img=$1 dst=$2 off
	if [[ $(file -L "$img") == *"ELF 64-bit"* ]]; then cp "$img" "$dst"; return; fi
	off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$img" | head -1 | cut -d: -f1)
	if [ -n "$off" ] && tail -c +$((off + 1)) "$img" | xz -dc --single-stream > "$dst.tmp" 2>/dev/null &&
		[[ $(file "$dst.tmp") == *"ELF 64-bit"* ]]; then
		mv "$dst.tmp" "$dst"
	else
		rm -f "$dst.tmp"; cp "$img" "$dst"    # not xz: boot the bzImage as is
	fi
}

# Download and unpack one kernel package into $cache/<package>_<version>/:
# vmlinux, release, and lib/modules/<release> with modules.dep, pruned of the
# driver trees a VM never loads. Idempotent; serialised by a lock.
prepare_package() {
	local pkg=$1 ver dir tmp rel
	ver=$(apt-cache policy "$pkg" | awk '/Candidate:/ {print $2}')
	dir=$cache/${pkg}_$ver
	if [ -e "$dir/.ready" ]; then echo "$dir"; return; fi
	mkdir -p "$cache/deb"
	exec 9> "$cache/.lock"
	flock 9
	if [ ! -e "$dir/.ready" ]; then
		local deb=("$cache/deb/${pkg}_${ver//:/%3a}_amd64.deb")
		if [ ! -s "${deb[0]}" ]; then
			log "downloading $pkg $ver into $cache/deb"
			(cd "$cache/deb" && apt-get download -q "$pkg=$ver" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2) ||
				die "apt-get download $pkg failed"
			deb=("$cache/deb/${pkg}_"*"${ver##*:}_amd64.deb")
		fi
		[ -s "${deb[0]}" ] || die "download of $pkg produced no .deb"
		tmp=$(mktemp -d "$cache/.unpack.XXXXXX")
		dpkg-deb -x "${deb[0]}" "$tmp"
		rel=$(ls "$tmp/lib/modules" | head -1)
		[ -n "$rel" ] || die "$pkg has no modules directory"
		busybox depmod -b "$tmp" "$rel"
		rm -rf "${tmp:?}/lib/modules/$rel/kernel/"{sound,drivers/gpu,drivers/media,drivers/infiniband,drivers/staging,drivers/scsi,drivers/usb,drivers/iio,drivers/hid,drivers/net/wireless,drivers/net/ethernet,drivers/bluetooth,net/wireless,net/mac80211,net/bluetooth}
		unpack_vmlinux "$tmp/boot/vmlinuz-$rel" "$tmp/vmlinux"
		echo "$rel" > "$tmp/release"
		rm -rf "${tmp:?}/boot" "${tmp:?}/usr" "${tmp:?}/etc"
		rm -rf "$dir"
		mv "$tmp" "$dir"
		touch "$dir/.ready"
	fi
	flock -u 9
	echo "$dir"
}

# A local kernel: KERNEL=/path/vmlinuz, VMTEST_MODDIR=/path/lib/modules/<rel>.
prepare_local() {
	local img=$1 moddir=${VMTEST_MODDIR:-} rel dir key
	[ -f "$img" ] || die "no such kernel image: $img"
	[ -d "$moddir" ] || die "KERNEL=$img needs VMTEST_MODDIR=<…/lib/modules/RELEASE>"
	rel=$(basename "$moddir")
	key=$(cat "$img" | md5sum | cut -c1-12)
	dir=$cache/local-$rel-$key
	if [ ! -e "$dir/.ready" ]; then
		rm -rf "$dir"; mkdir -p "$dir/lib/modules"
		cp -a "$moddir" "$dir/lib/modules/$rel"
		[ -s "$dir/lib/modules/$rel/modules.dep" ] || busybox depmod -b "$dir" "$rel"
		unpack_vmlinux "$img" "$dir/vmlinux"
		echo "$rel" > "$dir/release"
		touch "$dir/.ready"
	fi
	echo "$dir"
}

mkdir -p "$cache"
if [[ $KERNEL == */* ]]; then
	kdir=$(prepare_local "$(realpath "$KERNEL")")
else
	pkg=$(pick_package)
	if [ -n "$pkg" ]; then
		kdir=$(prepare_package "$pkg")
	else
		# apt lists unusable (offline, other suite): fall back to a cached kernel
		kdir=$(ls -d "$cache"/linux-image-"$KERNEL"[.-]*-amd64_* 2>/dev/null | sort -V | tail -1 || true)
		[ -n "$kdir" ] && [ -e "$kdir/.ready" ] ||
			die "no linux-image-$KERNEL*-amd64 package known to apt and none cached in $cache"
	fi
fi
rel=$(cat "$kdir/release")
moddir=$kdir/lib/modules/$rel

# --- initramfs ----------------------------------------------------------------

out=${VMTEST_OUT:-$build/vmtest/$rel/$(basename "$script" .sh)}
mkdir -p "$out"
out=$(realpath "$out")
case $out/ in "$build"/*) ;; *) die "VMTEST_OUT must be inside the build directory $build" ;; esac

# Modules in load order: depth-first over modules.dep, dependencies first.
declare -A mod_path mod_deps seen
while IFS= read -r line; do
	f=${line%%:*}; n=${f##*/}; n=${n%.ko}; n=${n//-/_}
	mod_path[$n]=$f; mod_deps[$n]=${line#*:}
done < "$moddir/modules.dep"
load_order=()
visit() {
	local n=$1 d dn
	[ -n "${seen[$n]:-}" ] && return 0
	seen[$n]=1
	for d in ${mod_deps[$n]}; do dn=${d##*/}; dn=${dn%.ko}; visit "${dn//-/_}"; done
	load_order+=("${mod_path[$n]}")
}
for m in $modules; do
	m=${m//-/_}
	if [ -z "${mod_path[$m]:-}" ]; then
		grep -qE "/(${m}|${m//_/-})\.ko\$" "$moddir/modules.builtin" 2>/dev/null && continue
		die "module $m is neither built in nor a module of $rel"
	fi
	visit "$m"
done

ird=$(mktemp -d)
trap 'rm -rf "$ird"' EXIT
mkdir -p "$ird"/{bin,dev,proc,sys,newroot,lib/modules}
cp /bin/busybox "$ird/bin/busybox"
ln -s busybox "$ird/bin/sh"
cp "$here/init" "$ird/init"
chmod 755 "$ird/init"
: > "$ird/modules"
for f in "${load_order[@]}"; do
	[ -f "$moddir/$f" ] || die "module file $f missing from $moddir (remove $kdir to re-unpack)"
	cp "$moddir/$f" "$ird/lib/modules/"
	basename "$f" >> "$ird/modules"
done
(cd "$ird" && find . -mindepth 1 | sed 's|^\./||' | busybox cpio -o -H newc 2>/dev/null) > "$out/initramfs.cpio"

# --- run ----------------------------------------------------------------------

# The run script: environment of the test, then the test itself. Written into
# the shared build directory, read by the guest's /init.
nonce=$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
cat > "$out/env.sh" <<EOF
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8 TERM=${TERM:-dumb}
export VMTEST=1 VMTEST_OUT='$out' VMTEST_KERNEL='$rel'
EOF
# Tunables of the in-VM script pass through.
for v in $(compgen -e | grep -E '^VMTEST_(PKT_GLOB|NETNS_GLOB|NETNS_FILTER|STAGE_TIMEOUT)$'); do
	printf 'export %s=%q\n' "$v" "${!v}" >> "$out/env.sh"
done
cat >> "$out/env.sh" <<EOF
export XEVPN_BUILD='$build' XEVPN_BIN='${XEVPN_BIN:-}' XEVPN_SHARED='${XEVPN_SHARED:-}'
export XEVPN_TEST_RUN=vm VMTEST_BIN_VARIANT='${VMTEST_BIN_VARIANT:-}'
cd '$top'
EOF
if [[ $script == *.sh ]] || [ ! -x "$script" ]; then runner=/bin/bash; else runner=; fi
printf '. %q\nexec %s %q\n' "$out/env.sh" "$runner" "$script" > "$out/run.sh"
rm -f "$out/rc" "$out/console.log"

qemu_args=(-nodefaults -no-reboot -display none -m "$mem" -smp "$cpus"
	-kernel "$kdir/vmlinux" -initrd "$out/initramfs.cpio"
	-virtfs "local,path=/,mount_tag=vmroot,security_model=none,readonly=on,multidevs=remap"
	-virtfs "local,path=$build,mount_tag=vmbuild,security_model=none,multidevs=remap")
cmdline="console=ttyS0 panic=-1 loglevel=4 vmtest.build=$build vmtest.dir=$out vmtest.nonce=$nonce vmtest.shell=$shell_mode ${VMTEST_CMDLINE:-}"

# KVM only when a short probe boot reaches /init and powers off (the nested KVM
# of some CI hosts cannot run a stock kernel). The verdict is cached per kernel.
kvm_works() {
	local verdict plog
	verdict=$cache/kvm-probe-$rel-$(uname -r)
	[ -r /dev/kvm ] && [ -w /dev/kvm ] || return 1
	if [ ! -e "$verdict" ]; then
		plog=$out/kvm-probe.log
		timeout -k 5 30 "$qemu" -accel kvm -cpu host "${qemu_args[@]}" -serial "file:$plog" \
			-append "console=ttyS0 panic=-1 vmtest.probe=1 vmtest.nonce=$nonce" </dev/null >/dev/null 2>&1 || true
		if grep -qa "VMTEST_PROBE_OK=$nonce" "$plog" 2>/dev/null; then echo ok; else echo fail; fi > "$verdict"
	fi
	[ "$(cat "$verdict")" = ok ]
}
case $accel in
tcg)  accel_args=(-accel tcg,thread=multi -cpu max) ;;
kvm)  accel_args=(-accel kvm -cpu host) ;;
auto) if kvm_works; then accel_args=(-accel kvm -cpu host); else accel_args=(-accel tcg,thread=multi -cpu max); fi ;;
*)    die "VMTEST_ACCEL must be auto, tcg or kvm" ;;
esac

log "kernel $rel ($kdir), ${accel_args[1]}, script ${script#"$top"/}, console log $out/console.log"
start=$(date +%s)
if [ "$shell_mode" != 0 ] && [ -t 0 ]; then
	# Interactive: the console is this terminal and there is no time limit.
	"$qemu" "${accel_args[@]}" "${qemu_args[@]}" -append "$cmdline" \
		-chardev "stdio,id=con,signal=off,logfile=$out/console.log" -serial chardev:con || true
	qrc=0
else
	[ "$shell_mode" != 0 ] && log "VMTEST_SHELL ignored: stdin is not a terminal"
	cmdline=${cmdline/vmtest.shell=$shell_mode/vmtest.shell=0}
	set +e
	timeout -k 10 "$timeout_s" "$qemu" "${accel_args[@]}" "${qemu_args[@]}" -append "$cmdline" \
		-chardev "stdio,id=con,logfile=$out/console.log" -serial chardev:con </dev/null 2>"$out/qemu.stderr"
	qrc=$?
	set -e
fi
secs=$(( $(date +%s) - start ))

# Only the marker carrying this run's nonce counts: no marker means the guest
# panicked, hung or never reached the test.
rc=$(grep -aoE "VMTEST_RC\\[$nonce\\]=[0-9]+" "$out/console.log" 2>/dev/null | tail -1 | sed 's/.*=//' || true)
if [ -z "$rc" ]; then
	if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
		log "FAIL: timed out after ${timeout_s}s without an exit status (console log $out/console.log)"
	else
		log "FAIL: the VM stopped without an exit status (qemu rc $qrc; console log $out/console.log)"
		[ -s "$out/qemu.stderr" ] && sed 's/^/qemu: /' "$out/qemu.stderr" | tail -5 >&2
	fi
	grep -aE 'Kernel panic|BUG:|Oops|general protection|vmtest-init:' "$out/console.log" 2>/dev/null |
		tail -5 | sed 's/^/console: /' >&2
	echo 255 > "$out/rc"
	exit 1
fi
echo "$rc" > "$out/rc"
log "in-VM script exited $rc after ${secs}s on $rel"
[ "$rc" = 0 ]
