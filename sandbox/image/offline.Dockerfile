# The worker over the offline base: a Debian root filesystem made by debootstrap and imported
# (`codeharness sandbox build --offline`); no registry needed. The base holds Python, numpy
# and the other languages' toolchains (docker_image.py DEBIAN_PACKAGES).
ARG BASE
FROM ${BASE}
COPY worker.py languages.py /opt/codeharness/
# The Rust crates and the Go cache some benchmarks need (sandbox/languages.py), offline.
RUN python3 /opt/codeharness/languages.py --prepare /opt/codeharness
# What programs may import here (the standard library this Python has, and numpy), as root at
# build time: the environment probe imports it all in the sandbox before any job runs.
RUN python3 -I /opt/codeharness/worker.py --list-modules /opt/codeharness/modules.json
ENTRYPOINT ["python3", "-s", "/opt/codeharness/worker.py"]
