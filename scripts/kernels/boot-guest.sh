#!/bin/bash
# boot-guest.sh KERNEL_ROOT PROJECT_DIR TIMEOUT_S CONSOLE_LOG -- CMD...
#
# Boot the kernel unpacked under KERNEL_ROOT (scripts/kernels/fetch-kernel.sh)
# under qemu (TCG when there is no KVM), with this machine's root file system
# shared read-only over 9p as the guest's root (chroot), PROJECT_DIR shared
# read-write at the same path, and the kernel's modules shared read-only.
# In the guest: tmpfs on /tmp /run /var/tmp /root, bpffs on /sys/fs/bpf,
# cgroup2 on /sys/fs/cgroup, kernel module auto-loading from the guest
# kernel's modules; then `cd PROJECT_DIR && CMD...` runs as root, and the
# guest powers itself off.  The console (kernel messages and CMD's output)
# goes to CONSOLE_LOG.
#
# The whole boot is bounded by TIMEOUT_S (qemu is killed after it).
# Exit: CMD's exit status; 124 on timeout; 125 when the guest never ran CMD
# (did not boot: the console log's last lines say why); 1 on a set-up error.
set -euo pipefail
kroot=${1:?usage}; project=${2:?usage}; limit=${3:?usage}; log=${4:?usage}
shift 4
[ "${1:-}" = "--" ] && shift
[ $# -gt 0 ] || { echo "boot-guest: no command" >&2; exit 1; }
die() { echo "boot-guest: $*" >&2; exit 1; }

kver=$(ls "$kroot/lib/modules/")
vmlinuz=$kroot/boot/vmlinuz-$kver
moddir=$(readlink -f "$kroot/lib/modules/$kver")
[ -r "$vmlinuz" ] || die "$vmlinuz missing"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not installed (package qemu-system-x86)"
[ -x /bin/busybox ] || die "/bin/busybox missing (package busybox-static)"

work=$(mktemp -d /tmp/tcprio-guest.XXXXXX)
trap 'rm -rf "$work"' EXIT
[ -n "${TCPRIO_GUEST_KEEP:-}" ] && trap 'echo "kept $work" >&2' EXIT

# --- initramfs: busybox, the modules that mount 9p, and /init -----------
ird=$work/initrd
mkdir -p "$ird/bin" "$ird/modules" "$ird/proc" "$ird/sys" "$ird/dev" "$ird/host"
cp /bin/busybox "$ird/bin/busybox"
# The virtio and 9p modules with their dependencies, in load order, taken
# from modules.dep; decompressed (busybox insmod reads plain .ko only).
declare -A seen=()
order=()
add_mod() {   # add_mod RELPATH: dependencies first
	local rel=$1 line dep
	[ -n "${seen[$rel]:-}" ] && return
	seen[$rel]=1
	line=$(grep -E "^${rel//./\\.}:" "$moddir/modules.dep" || true)
	for dep in ${line#*:}; do add_mod "$dep"; done
	order+=("$rel")
}
for m in virtio_pci 9pnet_virtio 9p; do
	rel=$(grep -oE "^[^:]*/$m\.ko(\.xz|\.zst)?:" "$moddir/modules.dep" | tr -d : || true)
	[ -n "$rel" ] && add_mod "$rel"   # absent: built in
done
for rel in "${order[@]}"; do
	base=$(basename "$rel"); plain=${base%.xz}; plain=${plain%.zst}
	case "$rel" in
	*.xz) xz -dc "$moddir/$rel" > "$ird/modules/$plain" ;;
	*.zst) zstd -qdc "$moddir/$rel" > "$ird/modules/$plain" ;;
	*) cp "$moddir/$rel" "$ird/modules/$plain" ;;
	esac
	echo "$plain" >> "$ird/modules/order"
done
touch "$ird/modules/order"

# The command, quoted for the guest's shell.
printf -v cmdq '%q ' "$@"
cat > "$ird/init" <<INIT
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in \$(cat /modules/order); do insmod /modules/\$m || echo "tcprio-guest: insmod \$m failed"; done
o=trans=virtio,version=9p2000.L,msize=262144
mount -t 9p -o \$o,ro,cache=loose hostroot /host || { echo "tcprio-guest: 9p root mount failed"; poweroff -f; }
for d in tmp run var/tmp root; do mount -t tmpfs tmpfs /host/\$d; done
ln -s /proc/self/fd /dev/fd; ln -s /proc/self/fd/0 /dev/stdin; ln -s /proc/self/fd/1 /dev/stdout; ln -s /proc/self/fd/2 /dev/stderr
mount -o bind /dev /host/dev; mkdir -p /dev/shm; mount -t tmpfs tmpfs /host/dev/shm
mount -t proc proc /host/proc; mount -t sysfs sys /host/sys
mount -t bpf bpf /host/sys/fs/bpf
mount -t cgroup2 cgroup2 /host/sys/fs/cgroup 2>/dev/null
# A checkout under a folder that a tmpfs above now covers (/tmp/...) needs
# its mount point made again in that tmpfs; elsewhere it exists already.
mkdir -p /host$project 2>/dev/null
mount -t 9p -o \$o project /host$project || { echo "tcprio-guest: 9p project mount failed"; poweroff -f; }
# The guest kernel's modules, and module auto-loading through them.
mkdir -p /host/tmp/kmods/lib/modules/$kver
mount -t 9p -o \$o,ro modules /host/tmp/kmods/lib/modules/$kver
# (the kernel runs its modprobe helper in the initramfs, outside the chroot)
printf '#!/bin/busybox sh\nexec /bin/chroot /host /usr/sbin/modprobe -d /tmp/kmods "\$@"\n' > /modprobe
chmod 755 /modprobe
echo /modprobe > /proc/sys/kernel/modprobe
ip link set lo up 2>/dev/null
echo "tcprio-guest: running on \$(uname -r)"
# Emulated (TCG) guests run every process start tens of times slower: tests
# with time bounds scale them (TCPRIO_TIME_SCALE).
scale=1; grep -q 'tcprio.accel=tcg' /proc/cmdline && scale=10
chroot /host /bin/sh -c 'cd $project && TCPRIO_TIME_SCALE='\$scale' PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root $cmdq'
echo "tcprio-guest: exit \$?"
sync
poweroff -f
INIT
chmod 755 "$ird/init"
(cd "$ird" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1) > "$work/initrd.gz"

# --- boot ---------------------------------------------------------------
fs() { echo "-fsdev local,id=$1,path=$2,security_model=passthrough,multidevs=remap${3:+,readonly=on} -device virtio-9p-pci,fsdev=$1,mount_tag=$1"; }
boot() {   # boot ACCEL: sets qrc
	# TCG runs both vCPUs in one host thread (thread=single): with a thread
	# per vCPU (the default) a 6.12 guest twice died of an Oops in code the
	# kernel was patching on the other vCPU (a static branch in
	# __netif_receive_skb_core, a jump in packet_rcv), which the kernel's
	# int3 patching protocol makes safe on hardware but qemu's cross-vCPU
	# code modification did not here.
	local accel=$1
	[ "$1" = tcg ] && accel=tcg,thread=single
	# shellcheck disable=SC2046
	# (in a subshell with stderr closed: bash's "Aborted" for a qemu that
	# cannot use KVM is not news)
	( timeout --kill-after=10 "$limit" qemu-system-x86_64 -accel "$accel" -cpu max -smp 2 -m 2048 \
		-nographic -no-reboot -nodefaults -serial "file:$log" -display none \
		-kernel "$vmlinuz" -initrd "$work/initrd.gz" \
		-append "console=ttyS0 panic=-1 quiet loglevel=4 rdinit=/init tcprio.accel=$1" \
		$(fs hostroot / ro) $(fs project "$project") $(fs modules "$moddir" ro) \
		</dev/null >"$work/qemu.out" 2>&1 ) 2>/dev/null && qrc=0 || qrc=$?
}
# KVM where it works; a /dev/kvm that cannot run this CPU model (nested
# virtualisation) fails at once, before the guest prints anything: TCG then.
qrc=1
if [ -w /dev/kvm ] && [ "${TCPRIO_QEMU_ACCEL:-}" != tcg ]; then
	boot kvm
	grep -aq 'tcprio-guest:' "$log" 2>/dev/null || qrc=1
fi
[ "$qrc" = 0 ] || grep -aq 'tcprio-guest:' "$log" 2>/dev/null || boot tcg
if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
	echo "boot-guest: $kver: timed out after $limit s" >&2
	exit 124
fi
rc=$(grep -aoE 'tcprio-guest: exit [0-9]+' "$log" | tail -n1 | awk '{print $3}')
if [ -z "$rc" ]; then
	echo "boot-guest: $kver: the command never finished (qemu status $qrc): $(tail -c 300 "$work/qemu.out")" >&2
	exit 125
fi
exit "$rc"
