#!/bin/sh
# Install a caseledger node into a virtual environment: the node image's one
# install step (docker/Dockerfile RUNs it), and what tests/deploy runs on a
# machine without a container engine, so the image cannot drift from what is
# tested.
#
#   docker/install-node.sh SOURCE PREFIX
#
# SOURCE is a folder holding the project (pyproject.toml and its packages),
# PREFIX the virtual environment to create. Extra pip options come from the
# environment as pip reads them (PIP_INDEX_URL, PIP_FIND_LINKS, ...).
set -eu

if [ "$#" -ne 2 ]; then
    echo "usage: $0 SOURCE PREFIX" >&2
    exit 2
fi
source_dir=$1
prefix=$2
python=${PYTHON:-python3}

"$python" -m venv "$prefix"
# A regular (not editable) install: the image carries no source tree.
"$prefix/bin/python" -m pip install --quiet --disable-pip-version-check "$source_dir"

# The image is good only if both entry points start: the operator's command
# line and the node process it execs.
"$prefix/bin/caseledger" --help >/dev/null
"$prefix/bin/python" -m caseledger.nodes serve --help >/dev/null
echo "caseledger installed in $prefix"
