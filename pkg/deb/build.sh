#!/usr/bin/env bash
# make deb: a Debian binary package of enf, built with dpkg-deb from a
# staged `make install DESTDIR=... PREFIX=/usr`.
#
# Why not debian/ with debhelper: enf's one Makefile already knows what to
# install and where; a staged install packaged by dpkg-deb keeps that the
# only list, needs no source package, and builds in seconds from the tree
# `make all` just built.  What debhelper would add is done here in a few
# lines each: dependencies (dpkg-shlibdeps), compressed man pages and
# changelog, md5sums, root ownership (fakeroot).
#
# Usage: pkg/deb/build.sh OUTDIR   -> OUTDIR/enf_VERSION_ARCH.deb
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
out=${1:?usage: build.sh OUTDIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)

version=$(sed -n 's/^#define ENF_VERSION "\(.*\)"$/\1/p' "$top/lib/enf.h")
arch=$(dpkg --print-architecture)
# The layout dpkg-shlibdeps expects: debian/control beside debian/PACKAGE.
root="$out/root"
stage="$root/debian/enf"
rm -rf "$root"
mkdir -p "$stage"
printf 'Source: enf\n\nPackage: enf\nArchitecture: any\n' >"$root/debian/control"

# Debian keeps units in /lib/systemd/system (bookworm: no merged-/usr paths
# in packages).
make -s -C "$top" install DESTDIR="$stage" PREFIX=/usr SYSTEMDDIR=/lib/systemd/system >/dev/null

# As dh_strip does: no .comment or .note sections either.
strip --remove-section=.comment --remove-section=.note "$stage"/usr/bin/enf-*

# Debian policy 12.3: man pages and changelogs gzip -9n (no timestamp).
find "$stage/usr/share/man" -type f -exec gzip -9n {} +
doc="$stage/usr/share/doc/enf"
install -d "$doc"
install -m 0644 "$here/copyright" "$doc/copyright"
sed "s/@VERSION@/$version/" "$here/changelog" | gzip -9n >"$doc/changelog.gz"
chmod 0644 "$doc/changelog.gz"

# Shared-library dependencies, as dpkg-shlibdeps computes them; ssh-keygen
# is run by enf-request, enf-sshsig and enf-keygen krl.
# (It finds the package root by its DEBIAN directory.)
install -d "$stage/DEBIAN"
shlibs=$(cd "$root" && dpkg-shlibdeps -O debian/enf/usr/bin/enf-* | sed -n 's/^shlibs:Depends=//p')
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" \
    -e "s/@DEPENDS@/$shlibs, openssh-client/" "$here/control" >"$stage/DEBIAN/control"
(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z |
	xargs -0 md5sum) >"$stage/DEBIAN/md5sums"
chmod 0644 "$stage/DEBIAN/control" "$stage/DEBIAN/md5sums"
# Directories 0755, whatever the umask the build ran under.
find "$stage" -type d -exec chmod 0755 {} +

deb="$out/enf_${version}_${arch}.deb"
fakeroot dpkg-deb --build -Zxz "$stage" "$deb" >/dev/null
rm -rf "$root"
echo "$deb"
