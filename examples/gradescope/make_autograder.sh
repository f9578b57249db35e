#!/usr/bin/env bash
# Build autograder.zip for Gradescope from this repository: setup.sh and run_autograder at the root of
# the zip, the grader's source in grader-src/, and the MNIST IDX files in mnist/ when MNIST_DIR names them.
# Usage: examples/gradescope/make_autograder.sh [OUT.zip]   (default: autograder.zip)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$(realpath -m "${1:-autograder.zip}")"
build="$(mktemp -d)"
trap 'rm -rf "$build"' EXIT

cp "$here/setup.sh" "$here/run_autograder" "$build/"
chmod +x "$build/setup.sh" "$build/run_autograder"
mkdir "$build/grader-src"
cp -r "$root/pyproject.toml" "$root/README.md" "$root/grader" "$build/grader-src/"  # grader/ holds the rubric and the reference
find "$build/grader-src" -name __pycache__ -type d -prune -exec rm -rf {} +
if [ -n "${MNIST_DIR:-}" ]; then
    mkdir "$build/mnist"
    cp "$MNIST_DIR"/*-ubyte* "$build/mnist/"
fi
rm -f "$out"
(cd "$build" && python3 -m zipfile -c "$out" ./*)
echo "wrote $out"
