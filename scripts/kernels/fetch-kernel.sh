#!/bin/bash
# fetch-kernel.sh SUITE CACHE_DIR - download Debian SUITE's current amd64
# kernel package (the one linux-image-amd64 depends on) from Debian's
# archive and unpack it under CACHE_DIR/SUITE/root.  Prints that folder.
#
# apt runs with a private configuration under CACHE_DIR/SUITE/apt (its own
# sources list, package lists and download folder): the machine's apt
# sources are read (to find the Debian mirror this machine uses) but never
# changed.  A second run with the package already unpacked downloads
# nothing.  The mirror: $TCPRIO_DEBIAN_MIRROR, else the URI of the first
# ".../debian" entry in the machine's apt sources.
#
# Exit: 0 ok; 1 with a message naming what failed.
set -euo pipefail
suite=${1:?usage: fetch-kernel.sh SUITE CACHE_DIR}
cache=${2:?usage: fetch-kernel.sh SUITE CACHE_DIR}
dir=$cache/$suite
die() { echo "fetch-kernel: $suite: $*" >&2; exit 1; }

if [ -f "$dir/root/.complete" ]; then
	echo "$dir/root"
	exit 0
fi

mirror() {
	[ -n "${TCPRIO_DEBIAN_MIRROR:-}" ] && { echo "$TCPRIO_DEBIAN_MIRROR"; return; }
	# deb822 (.sources) "URIs:" lines, then one-line "deb URI suite" entries.
	{ grep -hsE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}'
	  grep -hsE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
		sed -E 's/\[[^]]*\] //' | awk '{print $2}'; } 2>/dev/null |
	  grep -E '/debian/?$' | head -n1 || true
}
url=$(mirror)
[ -n "$url" ] || die "no Debian mirror found in /etc/apt/sources.list*; set TCPRIO_DEBIAN_MIRROR"
url=${url%/}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -r "$keyring" ] || die "$keyring missing (package debian-archive-keyring)"

apt_dir=$dir/apt
mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial" "$dir/root"
# The suite and its security updates (the newest kernel of that release).
sec=${url%/debian}/debian-security
cat > "$apt_dir/sources.list" <<SRC
deb [signed-by=$keyring] $url $suite main
deb [signed-by=$keyring] $sec $suite-security main
SRC
APT=(-o Dir::Etc::SourceList="$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
     -o Dir::State::Lists="$apt_dir/lists" -o Dir::Cache::Archives="$apt_dir/archives"
     -o Dir::Cache="$apt_dir" -o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts=/dev/null
     -o APT::Architecture=amd64 -o Debug::NoLocking=1)
apt-get "${APT[@]}" -qq update >"$apt_dir/update.log" 2>&1 ||
	die "apt-get update failed (private sources $apt_dir/sources.list): $(tail -n3 "$apt_dir/update.log")"
# linux-image-amd64 depends on exactly one versioned image package.
pkg=$(apt-cache "${APT[@]}" depends linux-image-amd64 2>/dev/null |
	awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
[ -n "$pkg" ] || die "linux-image-amd64 has no linux-image-N dependency in $suite"
(cd "$apt_dir/archives" && apt-get "${APT[@]}" -qq download "$pkg") >"$apt_dir/download.log" 2>&1 ||
	die "apt-get download $pkg failed: $(tail -n3 "$apt_dir/download.log")"
deb=$(ls "$apt_dir/archives/${pkg}"_*.deb | head -n1)
dpkg-deb -x "$deb" "$dir/root" || die "dpkg-deb -x $deb failed"
ls "$dir/root/boot"/vmlinuz-* >/dev/null 2>&1 || die "$deb has no /boot/vmlinuz-*"
# Merged-/usr packages (trixie) ship /usr/lib/modules: give depmod and the
# guest one path.  modules.dep is made by depmod at install time, so here.
if [ ! -d "$dir/root/lib/modules" ] && [ -d "$dir/root/usr/lib/modules" ]; then
	mkdir -p "$dir/root/lib" && ln -s ../usr/lib/modules "$dir/root/lib/modules"
fi
kver=$(ls "$dir/root/lib/modules/")
depmod -b "$dir/root" "$kver" || die "depmod for $kver failed"
echo "$pkg" > "$dir/root/.package"
touch "$dir/root/.complete"
echo "$dir/root"
