# lib.sh: what the tests of tests/systemd share: checks counted and printed
# like the Python tests' (ok - NAME / not ok - NAME: WHY, then "N passed,
# N failed"), and the package build.

PASSED=0
FAILED=0
SKIP=77
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# check NAME COMMAND...: runs COMMAND, its output kept for a failure.
check() {
	local name=$1 out t=$SECONDS
	shift
	if out=$("$@" 2>&1); then
		PASSED=$((PASSED + 1))
		printf 'ok - %s (%ds)\n' "$name" "$((SECONDS - t))"
	else
		FAILED=$((FAILED + 1))
		printf 'not ok - %s (%ds)\n' "$name" "$((SECONDS - t))"
		printf '%s\n' "$out" | tail -n 30 | sed 's/^/#   /'
	fi
}

note() { printf '# %s\n' "$*"; }

finish() {
	printf '%d passed, %d failed\n' "$PASSED" "$FAILED"
	((FAILED == 0))
	exit
}

# need_package_tools: SKIP (exit 77) without what builds a package.
need_package_tools() {
	local t
	for t in dpkg-buildpackage dh dpkg-deb dpkg-checkbuilddeps; do
		if ! command -v "$t" >/dev/null; then
			echo "SKIP: no $t (tools/install-deps installs debhelper and dpkg-dev)"
			exit "$SKIP"
		fi
	done
}

# build_deb OUTDIR: the source tree copied to OUTDIR/src (tracked and
# untracked files that git does not ignore, or the whole tree but build
# directories without git), built there with dpkg-buildpackage -us -uc -b,
# and the path of OUTDIR/runnerd_*.deb printed. The log is OUTDIR/build.log.
build_deb() {
	local out=$1 src=$1/src
	rm -rf "$src"
	mkdir -p "$src"
	if git -C "$ROOT" rev-parse --show-toplevel >/dev/null 2>&1; then
		(cd "$ROOT" && git ls-files -z -c -o --exclude-standard) |
			(cd "$ROOT" && tar --null --ignore-failed-read -T - -cf - 2>/dev/null) | tar -C "$src" -xf -
	else
		tar -C "$ROOT" --exclude=./build --exclude='./obj-*' --exclude=./debian/runnerd \
			--exclude=./debian/.debhelper -cf - . | tar -C "$src" -xf -
	fi
	if ! (cd "$src" && dpkg-buildpackage -us -uc -b) >"$out/build.log" 2>&1; then
		echo "build_deb: dpkg-buildpackage failed (log: $out/build.log):" >&2
		tail -n 30 "$out/build.log" >&2
		return 1
	fi
	ls "$out"/runnerd_*_amd64.deb
}
