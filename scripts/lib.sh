# scripts/lib.sh: shell helpers shared by scripts/test and scripts/test-sdk.
# Source it; it defines functions and pins the Go toolchain.

# go.mod names Go 1.27.3. Under GOTOOLCHAIN=local an older go command
# refuses that go.mod instead of fetching the release; naming the version
# makes every go command these scripts run take it (from the module proxy,
# once per machine).
export GOTOOLCHAIN=go1.27.3

# apt_install installs Debian packages without questions, refreshing the
# package lists first (a fresh machine has none). It needs root.
apt_install() {
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "$(basename "$0"): missing $*; install it as root (apt-get install $*)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
