# Sourced by scripts/kernel-matrix.sh: a private apt state under $MATRIX_CACHE/apt, so the matrix
# can list and download kernels of other Debian releases (bullseye, trixie, backports) without
# changing the host's own apt configuration. Debian's archive keyring verifies every suite.
MATRIX_MIRROR=${MATRIX_MIRROR:-http://deb.debian.org/debian}
MATRIX_SECURITY=${MATRIX_SECURITY:-http://deb.debian.org/debian-security}

matrix_apt_opts() {
  local d=$MATRIX_CACHE/apt
  echo "-o Dir::Etc::sourcelist=$d/sources.list -o Dir::Etc::sourceparts=- -o Dir::State::Lists=$d/lists" \
    "-o Dir::Cache=$d/cache -o Dir::State::status=/dev/null -o Debug::NoLocking=1 -o APT::Sandbox::User=root"
}

# matrix_apt_update: writes the private sources and refreshes their lists when older than 6 hours.
matrix_apt_update() {
  local d=$MATRIX_CACHE/apt key=/usr/share/keyrings/debian-archive-keyring.gpg
  mkdir -p "$d/lists/partial" "$d/cache/archives/partial"
  {
    for s in bookworm bookworm-backports trixie bullseye; do echo "deb [signed-by=$key] $MATRIX_MIRROR $s main"; done
    for s in bookworm-security bullseye-security; do echo "deb [signed-by=$key] $MATRIX_SECURITY $s main"; done
  } >"$d/sources.list.new"
  if cmp -s "$d/sources.list.new" "$d/sources.list" && [ -n "$(find "$d/lists" -maxdepth 1 -name '*Packages' -mmin -360 | head -1)" ]; then
    rm "$d/sources.list.new"; return 0
  fi
  mv "$d/sources.list.new" "$d/sources.list"
  # shellcheck disable=SC2046
  apt-get $(matrix_apt_opts) update -qq >"$d/update.log" 2>&1 || { tail -5 "$d/update.log" >&2; return 1; }
}

# matrix_resolve SUITES META: the kernel package META (a metapackage such as linux-image-amd64)
# depends on in the first of SUITES (space-separated) that has it, as "package/suite"; empty if none.
matrix_resolve() {
  local s dep
  for s in $1; do
    # shellcheck disable=SC2046
    dep=$(apt-cache $(matrix_apt_opts) show "$2/$s" 2>/dev/null | sed -n 's/^Depends: \(linux-image-[^ ,]*\).*/\1/p' | head -1)
    [ -n "$dep" ] && { echo "$dep/$s"; return 0; }
  done
}

# matrix_download PKG/SUITE: the .deb's path under $MATRIX_CACHE/debs, downloaded once.
matrix_download() {
  local name=${1%/*} d=$MATRIX_CACHE/debs f
  mkdir -p "$d"
  f=$(ls "$d/${name}_"*.deb 2>/dev/null | head -1)
  if [ -z "$f" ]; then
    # shellcheck disable=SC2046
    (cd "$d" && apt-get $(matrix_apt_opts) download "$1" >/dev/null 2>"$d/download.err") || { cat "$d/download.err" >&2; return 1; }
    f=$(ls "$d/${name}_"*.deb | head -1)
  fi
  echo "$f"
}
