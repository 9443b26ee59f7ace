#!/usr/bin/env bash
# Builds Guichet from this checkout and installs its one self-contained
# binary in ${PREFIX:-$HOME/.local}/bin. Run it again to upgrade;
# `./install.sh --uninstall` removes the binary (your data stays).
set -euo pipefail

prefix="${PREFIX:-$HOME/.local}"
bin_dir="$prefix/bin"

if [ "${1:-}" = "--uninstall" ]; then
  rm -f "$bin_dir/guichet"
  echo "guichet removed from $bin_dir (profiles and local data are left in place)"
  exit 0
elif [ $# -gt 0 ]; then
  echo "usage: ./install.sh [--uninstall]   (PREFIX=/opt/guichet ./install.sh to choose where)" >&2
  exit 2
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "install.sh: cargo was not found. Guichet builds from source with the Rust toolchain" >&2
  echo "(1.85 or newer): install it with rustup or your distribution's rustc and cargo packages, then run ./install.sh again." >&2
  exit 1
fi

# SQLCipher's OpenSSL (the encrypted store) is built from source.
for tool in cc perl make; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "install.sh: $tool was not found; the encrypted store's OpenSSL is built from source and needs" >&2
    echo "a C compiler, perl and make (Debian: apt-get install build-essential perl)." >&2
    exit 1
  fi
done

cd "$(dirname "$0")"
echo "building guichet (release; the first build takes a few minutes on a small machine)..."
cargo build --release --locked --quiet
mkdir -p "$bin_dir"
install -m 0755 target/release/guichet "$bin_dir/guichet"
echo "installed $bin_dir/guichet ($("$bin_dir/guichet" --version))"
case ":$PATH:" in
  *":$bin_dir:"*) ;;
  *) echo "note: $bin_dir is not on your PATH; add it with: export PATH=\"$bin_dir:\$PATH\"" ;;
esac
