#!/bin/sh
# Builds the Debian package vg_VERSION_ARCH.deb with dpkg-deb: a build with
# Debian's hardening flags (dpkg-buildflags) in DIR/build, installed under
# DIR/debian/vg as `make install PREFIX=/usr` does, the binary stripped, the man
# pages and changelog compressed as Debian policy asks, and Depends from
# the shared libraries the binary links (dpkg-shlibdeps).
# Usage: packaging/deb.sh VERSION DIR OUT.deb   (from the source tree's root)
set -eu
version=$1 dir=$2 out=$3
make=${MAKE:-make}
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
root=$dir/debian/vg
rm -rf "$dir"  # make does not rebuild for new flags: a clean build
$make --no-print-directory BUILD="$dir/build" \
    CFLAGS="$(dpkg-buildflags --get CPPFLAGS) $(dpkg-buildflags --get CFLAGS)" \
    LDFLAGS="$(dpkg-buildflags --get LDFLAGS)" \
    PREFIX=/usr DESTDIR="$root" install >/dev/null
[ -f "$root/usr/share/man/man1/vg.1" ] || { echo "deb: the man pages were not built" >&2; exit 1; }

strip --strip-unneeded --remove-section=.comment --remove-section=.note "$root/usr/bin/vg"
gzip -9n "$root"/usr/share/man/man*/*
doc=$root/usr/share/doc/vg
install -m 644 packaging/copyright "$doc/copyright"
# a native package: its changelog is changelog.gz, in Debian's format
gzip -9n <packaging/changelog >"$doc/changelog.gz"
chmod 644 "$doc/changelog.gz"

# dpkg-shlibdeps reads the package list of a source package's debian/control,
# and finds the package's root by its DEBIAN folder
mkdir -p "$root/DEBIAN"
printf 'Source: vg\n\nPackage: vg\nArchitecture: any\n' >"$dir/debian/control"
depends=$(cd "$dir" && dpkg-shlibdeps -O -edebian/vg/usr/bin/vg | sed -n 's/^shlibs:Depends=//p')

sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$(dpkg --print-architecture)/" \
    -e "s/@DEPENDS@/$depends/" -e "s/@SIZE@/$(du -sk --exclude=DEBIAN "$root" | cut -f1)/" \
    packaging/control >"$root/DEBIAN/control"
(cd "$root" && find usr -type f -print0 | sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
chmod 644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"
dpkg-deb --root-owner-group -Zxz --build "$root" "$out" >/dev/null
echo "deb: $out ($(du -k "$out" | cut -f1) KiB), Depends: $depends"
