#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image (the network is available).
# It installs the grader from /autograder/source/grader-src (see make_autograder.sh) into /opt/grader,
# and puts MNIST into the image so that grading needs no network.
set -euo pipefail

apt-get update -q
python=python3
if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    apt-get install -y -q --no-install-recommends python3.11 python3.11-venv   # Ubuntu 22.04 ships 3.10
    python=python3.11
else
    apt-get install -y -q --no-install-recommends python3-venv
fi

"$python" -m venv /opt/grader
/opt/grader/bin/pip install --quiet --disable-pip-version-check torch torchvision --index-url https://download.pytorch.org/whl/cpu
# A plain install: the default rubric and the reference solution ship inside the package.
/opt/grader/bin/pip install --quiet --disable-pip-version-check /autograder/source/grader-src

if [ ! -d /autograder/source/mnist ]; then   # no MNIST files in the zip: download them into the image once
    XDG_CACHE_HOME=/opt/grader/cache /opt/grader/bin/python -c 'from grader.data import find_mnist; print(find_mnist())'
fi
