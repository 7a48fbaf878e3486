#!/usr/bin/env bash
# Installs what tests/editors/test_code_server.py needs: a real VS Code served to a browser (code-server
# 4.100.3, the last release whose install runs on Node 20), headless Chromium (Debian's package) and the
# tools code-server's native modules build with. Run by the README's test command; safe to re-run.
#
# When something cannot be installed here (not root, no apt-get, another Node major, a failed build),
# it says why in e2e/UNAVAILABLE and exits 0: the test then skips with that reason instead of the whole
# test command failing over an optional, heavy component.
set -uo pipefail
cd "$(dirname "$0")"
rm -f UNAVAILABLE
unavailable() {
  echo "$1" > UNAVAILABLE
  echo "code-server e2e: $1" >&2
  exit 0
}

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null) || unavailable "node is not installed"
[ "$node_major" = 20 ] || unavailable "code-server 4.100.3 installs only on Node 20 (this is Node $node_major); newer releases want Node 22 or 24"

entry=node_modules/code-server/out/node/entry.js
if [ -f "$entry" ] && node "$entry" --version > /dev/null 2>&1 && command -v chromium > /dev/null; then
  exit 0  # already installed
fi

# Debian packages: Chromium; g++/make/python3 for node-gyp; gssapi.h for the kerberos module; ripgrep (below)
need=()
command -v chromium > /dev/null || need+=(chromium)
command -v rg > /dev/null || need+=(ripgrep)
command -v g++ > /dev/null || need+=(g++)
command -v make > /dev/null || need+=(make)
[ -f /usr/include/gssapi/gssapi.h ] || need+=(libkrb5-dev)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get > /dev/null; then
    unavailable "needs the Debian packages ${need[*]} (apt-get install as root), then run editors/vscode/e2e/install.sh"
  fi
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -q --no-install-recommends "${need[@]}" > apt.log 2>&1; then
    apt-get update -q > /dev/null 2>&1
    apt-get install -y -q --no-install-recommends "${need[@]}" > apt.log 2>&1 \
      || unavailable "apt-get install ${need[*]} failed (see editors/vscode/e2e/apt.log)"
  fi
fi

# VS Code's @vscode/ripgrep downloads its binary from GitHub at install time, which only the package
# registries can reach here: hand it Debian's rg through the download cache it checks first.
case "$(uname -m)" in
  x86_64) target=x86_64-unknown-linux-musl ;;
  aarch64) target=aarch64-unknown-linux-musl ;;
  *) unavailable "no ripgrep target for $(uname -m)" ;;
esac
cache="${TMPDIR:-/tmp}/vscode-ripgrep-cache-1.15.11"
mkdir -p "$cache/stage"
cp "$(command -v rg)" "$cache/stage/rg"
tar -czf "$cache/ripgrep-v13.0.0-10-$target.tar.gz" -C "$cache/stage" rg

# code-server's postinstall refuses root without unsafe-perm; node-pty's runs `npx node-gyp`, which
# must not stop to ask; the native modules (argon2, kerberos, node-pty, spdlog ...) build from source
if ! npm_config_unsafe_perm=true npm_config_yes=true npm ci --no-audit --no-fund --foreground-scripts > npm.log 2>&1; then
  unavailable "npm ci of code-server failed (see editors/vscode/e2e/npm.log)"
fi
node "$entry" --version > /dev/null 2>&1 || unavailable "code-server was installed but does not start (node $entry --version)"
echo "code-server e2e: $(node "$entry" --version 2>/dev/null | tail -1)"
