#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make deb: the zsm-dkms Debian package, built with Debian's own tools
# (dpkg-buildpackage, debhelper, dh_dkms) from debian/, and checked with
# lintian.
#
#   scripts/build-deb.sh
#
# The work tree's files (tracked and untracked, not ignored) are copied to
# $ZSM_CACHE/deb/build/zsm-<version>/ and built there, so that the build's
# by-products (debian/zsm-dkms/, debian/files, the .changes, ...) never
# land in the work tree. Any lintian tag fails the build.
# Prints the package's path last: $ZSM_CACHE/deb/zsm-dkms_<version>_all.deb.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
cache=${ZSM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/zsm}
top=$cache/deb

die() {
	echo "build-deb: $*" >&2
	exit 1
}

for t in dpkg-buildpackage dh dh_dkms lintian; do
	command -v "$t" >/dev/null ||
		die "$t missing: run scripts/deps.sh (as root) first"
done

ver=$(dpkg-parsechangelog -l "$repo/debian/changelog" -S Version)
src=$top/build/zsm-$ver
rm -rf "$top/build"
mkdir -p "$src"
(cd "$repo" && git ls-files -co --exclude-standard -z |
	rsync -a --from0 --files-from=- ./ "$src/")

echo "build-deb: dpkg-buildpackage in $src" >&2
(cd "$src" && dpkg-buildpackage -us -uc >"$top/build/build.log" 2>&1) || {
	tail -n 40 "$top/build/build.log" >&2
	die "dpkg-buildpackage failed; log: $top/build/build.log"
}

changes=$top/build/zsm_${ver}_$(dpkg --print-architecture).changes
deb=$top/build/zsm-dkms_${ver}_all.deb
for f in "$changes" "$deb"; do
	[ -f "$f" ] || die "dpkg-buildpackage made no $f"
done

# Every tag lintian can report (--display-info, --pedantic) fails the
# build; a tag that must stay is overridden in debian/ with its reason.
lintian --display-info --pedantic --tag-display-limit 0 "$changes" \
	>"$top/build/lintian.log" 2>&1 || true
if grep -E '^[EWIPX]: ' "$top/build/lintian.log" >&2; then
	die "lintian reported the tags above (log: $top/build/lintian.log)"
fi
echo "build-deb: lintian: no tags" >&2

cp "$deb" "$top/"
echo "$top/$(basename "$deb")"
