# The worker over the offline base: a Debian root filesystem made by debootstrap and imported
# (`codeharness sandbox build --offline`); no registry needed.
ARG BASE
FROM ${BASE}
COPY worker.py /opt/codeharness/worker.py
ENTRYPOINT ["python3", "-I", "/opt/codeharness/worker.py"]
