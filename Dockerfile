# bpfcol's container image: the node agent, to run as a DaemonSet (config/kubernetes/) or with
# `docker run`. Two stages:
#   build    Debian 12 (bookworm) with Node 24, clang and libbpf-dev: the eBPF objects (CO-RE) and
#            the native addon (bpf/Makefile), and the production npm dependencies.
#   runtime  node:24-bookworm-slim with libbpf1 and libelf1 only, the sources (Node runs the .ts
#            files directly), the built objects and the production dependencies.
#
# Build (amd64: bpf/Makefile compiles for __TARGET_ARCH_x86):
#   docker build -t bpfcol .
# The eBPF objects are compiled against the kernel types of the build host's BTF
# (/sys/kernel/btf/vmlinux, visible to build steps on a BTF kernel). Without one, give them:
#   bpftool btf dump file /sys/kernel/btf/vmlinux format c > bpf/vmlinux.h   # on any BTF machine
#   docker build --build-arg VMLINUX_H=vmlinux.h -t bpfcol .               # path relative to bpf/
# CO-RE relocates field offsets when the objects load, so the image runs on other kernels too
# (`bpfcol probe` in the image says what the running kernel lacks).
#
# Run (the default config, config/default.yaml, is at /etc/bpfcol/config.yaml; its endpoints listen
# on 127.0.0.1, so use the host's network, or mount a config of your own at that path: more --config
# arguments merge over it):
#   docker run --rm --pid=host --network=host \
#     --cap-drop=ALL --cap-add=BPF --cap-add=PERFMON --cap-add=SYS_RESOURCE \
#     --cap-add=SYS_PTRACE --cap-add=DAC_READ_SEARCH \
#     -v /sys/kernel/tracing:/sys/kernel/tracing -v /sys/fs/cgroup:/sys/fs/cgroup:ro bpfcol
#   docker run --rm bpfcol validate        # any bpfcol command: the entrypoint passes the config
#
# User and capabilities. The agent runs as uid 0 with every capability dropped but these (the
# DaemonSet's list; test/ship/kubernetes.test.ts runs bpfcol with exactly that set):
#   CAP_BPF              load programs, create maps (bpf(2))
#   CAP_PERFMON          tracing programs, perf events (perf_sampling), uprobes/USDT (jvm_usdt)
#   CAP_SYS_RESOURCE     raise RLIMIT_MEMLOCK for maps on kernels before 5.11 (no memcg accounting)
#   CAP_SYS_PTRACE       /proc/<pid>/exe, maps, root and io of other users' processes (hostPID)
#   CAP_DAC_READ_SEARCH  files of other users behind /proc/<pid>/root (JVM hsperfdata, perf maps)
#   CAP_NET_ADMIN        not used (no XDP, tc or socket filters)
#   CAP_SYS_ADMIN        not used: kernels before 5.8 (no CAP_BPF/CAP_PERFMON) would need it, and so
#                        would mounting tracefs where the host has not (mount /sys/kernel/tracing
#                        instead). libbpf 1.1 also lists kernel modules' BTF for CO-RE types vmlinux
#                        lacks (BPF_BTF_GET_NEXT_ID needs that capability); the addon hands it
#                        vmlinux's BTF by path, so it never does.
# A non-root user would get none of them: Docker and Kubernetes give added capabilities to a
# non-root process only through file capabilities or ambient sets, and Kubernetes sets no ambient
# capabilities. So: uid 0 with those capabilities only (and a read-only root file system in
# Kubernetes). Commands that touch no kernel object (validate, components, print-config, status)
# run as any user: `docker run --rm --user 65534 bpfcol validate`.

ARG NODE_VERSION=24

FROM node:${NODE_VERSION}-bookworm AS build
# The packages of scripts/apt-packages.txt's build section that the runtime objects need.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev make g++ pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error
COPY bpf/ bpf/
# Kernel types: a vmlinux.h under bpf/ (VMLINUX_H, relative to bpf/) or a BTF file (VMLINUX_BTF).
ARG VMLINUX_H=""
ARG VMLINUX_BTF=/sys/kernel/btf/vmlinux
# Node's headers come with the image (/usr/local/include/node); node-addon-api is a dependency.
RUN make -s -C bpf runtime NODE_DIR=/usr/local ADDON_API_DIR=/src/node_modules/node-addon-api \
      VMLINUX_BTF="$VMLINUX_BTF" VMLINUX_H="$VMLINUX_H"

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends libbpf1 libelf1 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/bpfcol
COPY --from=build /src/node_modules/ node_modules/
COPY --from=build /src/bpf/build/*.bpf.o /src/bpf/build/bpfcol_native.node bpf/build/
COPY package.json package-lock.json main.ts components.ts ./
COPY bin/ bin/
COPY src/ src/
COPY receivers/ receivers/
COPY processors/ processors/
COPY connectors/ connectors/
COPY exporters/ exporters/
COPY extensions/ extensions/
COPY config/ config/
COPY config/default.yaml /etc/bpfcol/config.yaml
RUN ln -s /opt/bpfcol/bin/bpfcol /usr/local/bin/bpfcol \
 && mkdir -p /var/lib/bpfcol
# Files the exporters write (traces, logs, flame graphs) go to $BPFCOL_DATA_DIR.
ENV BPFCOL_DATA_DIR=/var/lib/bpfcol \
    NODE_ENV=production
VOLUME ["/var/lib/bpfcol"]
# OTLP gRPC and HTTP, bpfcol's own metrics and /health, the Prometheus exporter.
EXPOSE 4317 4318 8888 9464
# /health answers 200 while every pipeline runs. The telemetry endpoint is 127.0.0.1:8888 in the
# default config; a config that moves it moves this too (--health-cmd at `docker run`).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8888/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# uid 0 on purpose, with only the capabilities above (see the header).
# hadolint ignore=DL3002
USER 0:0
ENTRYPOINT ["bpfcol", "--config", "/etc/bpfcol/config.yaml"]
