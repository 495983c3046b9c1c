# Sourced by scripts/compose-test.sh: a Docker engine of the run's own, and a Debian base image
# built without any registry.
#
# The engine is Debian's dockerd with its data, state and socket under the run's directory, so
# that stopping it and removing that directory removes every image, container, volume and
# network the run made, and two runs never share anything. It leaves the host's firewall and
# sysctls alone (--iptables=false, --ip-forward=false, no default bridge): containers reach one
# another on their compose networks, image builds use the host's network for Debian's mirror,
# nothing is NATed to the outside.

# start_engine DIR: starts dockerd, exports DOCKER_HOST, waits until it answers.
start_engine() {
  local dir=$1
  mkdir -p "$dir/engine"
  export DOCKER_HOST="unix://$dir/engine/docker.sock"
  dockerd --host "$DOCKER_HOST" --data-root "$dir/engine/data" --exec-root "$dir/engine/exec" \
    --pidfile "$dir/engine/dockerd.pid" --bridge none --iptables=false \
    --ip-forward=false --ip-masq=false >"$dir/engine/dockerd.log" 2>&1 &
  ENGINE_PID=$!
  for _ in $(seq 120); do
    docker version >/dev/null 2>&1 && return 0
    kill -0 "$ENGINE_PID" 2>/dev/null || break
    sleep 0.5
  done
  tail -20 "$dir/engine/dockerd.log" >&2
  echo "compose-test: dockerd did not start" >&2
  return 1
}

# stop_engine DIR: stops the run's dockerd (its containerd with it) and unmounts what it left.
stop_engine() {
  local dir=$1
  if [ -n "${ENGINE_PID:-}" ] && kill -0 "$ENGINE_PID" 2>/dev/null; then
    kill -TERM "$ENGINE_PID"
    for _ in $(seq 60); do kill -0 "$ENGINE_PID" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$ENGINE_PID" 2>/dev/null && kill -KILL "$ENGINE_PID"
    wait "$ENGINE_PID" 2>/dev/null || true
  fi
  # Overlay and netns mounts of containers a failed run left behind, deepest first.
  awk -v d="$dir/engine/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do
    umount -l "$m" 2>/dev/null || true
  done
}

# import_debian DIR IMAGE MIRROR: debootstrap a minimal bookworm and `docker import` it as IMAGE,
# prepared as Debian's own container images are (no service starts inside a build, no
# recommended packages, no apt caches).
import_debian() {
  local dir=$1 image=$2 mirror=$3 rootfs="$1/rootfs"
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$dir/debootstrap.log" 2>&1 \
    || { tail -20 "$dir/debootstrap.log" >&2; echo "compose-test: debootstrap failed" >&2; return 1; }
  printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
  chmod 755 "$rootfs/usr/sbin/policy-rc.d"
  printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' >"$rootfs/etc/apt/apt.conf.d/90container"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | docker import - "$image" >/dev/null
  rm -rf "$rootfs"
}
