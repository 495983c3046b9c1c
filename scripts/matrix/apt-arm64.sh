# Sourced by scripts/matrix/build-arm64.sh and arm64-user.sh: Debian's arm64 packages through an
# apt state of their own under $CACHE (the host's apt configuration and architectures are not
# changed). Needs CACHE and MIRROR set.
apt_dir=$CACHE/apt-arm64 debs=$CACHE/debs-arm64
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$debs"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR bookworm main" >"$apt_dir/sources.list"
A=(-o "Dir::Etc::sourcelist=$apt_dir/sources.list" -o Dir::Etc::sourceparts=- -o "Dir::State::Lists=$apt_dir/lists"
  -o "Dir::Cache=$apt_dir/cache" -o Dir::State::status=/dev/null -o APT::Architecture=arm64 -o APT::Architectures::=arm64
  -o APT::Sandbox::User=root)
[ -n "$(find "$apt_dir/lists" -maxdepth 1 -name '*Packages' -mmin -360 | head -1)" ] || apt-get "${A[@]}" update -qq
# arm64_deb NAME: the package's .deb under $debs, downloaded once.
arm64_deb() {
  local f
  f=$(ls "$debs/${1}_"*_arm64.deb 2>/dev/null | head -1)
  [ -n "$f" ] || { (cd "$debs" && apt-get "${A[@]}" download "$1:arm64" >/dev/null); f=$(ls "$debs/${1}_"*_arm64.deb | head -1); }
  echo "$f"
}

