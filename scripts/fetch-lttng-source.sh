#!/usr/bin/env bash
# Fetch and unpack Debian's source package of an installed LTTng package under a
# project directory, once; print the unpacked tree's path.
#
#   scripts/fetch-lttng-source.sh [DEST [PACKAGE]]
#
# DEST defaults to build/upstream/src; PACKAGE is the installed binary package
# whose source is fetched: lttng-tools (the default: source ltt-control, tree
# ltt-control-2.13.9) or liblttng-ust-dev (source ust, tree ust-2.13.5, read by
# the ring-buffer layout oracle, scripts/c_layout_oracle.py).
#
# The machine's own apt configuration and state are never changed: the deb-src
# entry, the package lists and the archive cache all live under DEST, and apt is
# pointed at them with -o options on both `update` and `source` (without a
# private Dir::State::Lists, `apt-get update` would replace the machine's binary
# package lists with the source list alone). The tree is re-fetched only when
# the installed lttng-tools version changes. Nothing fetched is committed.
# The default DEST is where everything looks for the C sources: `make sources`
# (and so `make test`), the tests (tests/c_sources.py) and `ustref conformance
# upstream`, which builds its test tree there.
# Needs root for `apt-get install dpkg-dev` the first time only.
set -euo pipefail

dest="${1:-build/upstream/src}"
package="${2:-lttng-tools}"
mkdir -p "$dest"
dest="$(cd "$dest" && pwd)"

version="$(dpkg-query -W -f='${Version}' "$package" 2>/dev/null || true)"
if [[ -z "$version" ]]; then
    echo "fetch-lttng-source: error: $package is not installed (run scripts/setup-lttng.sh)" >&2
    exit 1
fi
source_package="$(dpkg-query -W -f='${source:Package}' "$package")"
upstream_version="${version%%-*}"
tree="$dest/$source_package-$upstream_version"
stamp="$dest/.fetched-version"
if [[ "$source_package" != ltt-control ]]; then
    stamp="$dest/.fetched-version-$source_package"
fi

if [[ -d "$tree" && -f "$stamp" && "$(cat "$stamp")" == "$version" ]]; then
    echo "$tree"
    exit 0
fi

if ! command -v dpkg-source >/dev/null 2>&1; then
    echo "fetch-lttng-source: installing dpkg-dev (for dpkg-source)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends dpkg-dev >&2
fi

codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")"
apt_dir="$dest/apt"
mkdir -p "$apt_dir/sources.list.d" "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
cat >"$apt_dir/sources.list.d/deb-src.sources" <<EOF
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $codename $codename-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: $codename-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF

apt_opts=(
    -o "Dir::Etc::SourceList=/dev/null"
    -o "Dir::Etc::SourceParts=$apt_dir/sources.list.d"
    -o "Dir::State::Lists=$apt_dir/lists"
    -o "Dir::Cache=$apt_dir/cache"
    -o "Dir::Cache::pkgcache="
    -o "Dir::Cache::srcpkgcache="
)
echo "fetch-lttng-source: fetching $source_package $version" >&2
apt-get "${apt_opts[@]}" -q update >&2
rm -rf "$tree"
(cd "$dest" && apt-get "${apt_opts[@]}" -q source "$source_package=$version" >&2)
if [[ ! -d "$tree" ]]; then
    echo "fetch-lttng-source: error: apt-get source did not unpack $tree" >&2
    exit 1
fi
printf '%s\n' "$version" >"$stamp"
echo "$tree"
