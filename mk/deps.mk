# Debian packages the project needs; installed once, quietly, when missing.
DEB_PKGS := clang llvm gcc make pkg-config libbpf-dev bpftool libelf-dev zlib1g-dev \
            libuv1-dev libmnl-dev libssl-dev libcriterion-dev \
            gobgpd golang-github-osrg-gobgp-dev libgrpc-dev protobuf-c-compiler \
            libprotobuf-c-dev libprotobuf-dev libmicrohttpd-dev libyaml-dev libjansson-dev libedit-dev \
            iproute2 tcpdump jq procps util-linux busybox-static \
            qemu-system-x86 prometheus

deps:
	@DEB_PKGS="$(DEB_PKGS)" mk/install-deps
