#!/bin/sh
# Compares deliverability_exporter with Debian's prometheus-blackbox-exporter
# on the same work (an SMTP server's certificate over STARTTLS and an MX
# lookup) against the same in-process servers on loopback, and prints the
# CPU time and latency per probe of both as Markdown. One command, from
# anywhere in the repository:
#
#   bench/blackbox/run.sh [-probes N]
#
# Installs prometheus-blackbox-exporter with apt-get when it is missing (as
# root). Both exporters run on 127.0.0.1 with their own ports and
# configuration, and are stopped when the comparison ends; a blackbox_exporter
# service the package may have started is left alone.
set -eu
cd "$(dirname "$0")/../.."
bin=$(command -v prometheus-blackbox-exporter || true)
if [ -z "$bin" ]; then
	echo "installing prometheus-blackbox-exporter" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus-blackbox-exporter >&2
	bin=$(command -v prometheus-blackbox-exporter)
fi
exec timeout 25m go run ./bench/blackbox -blackbox "$bin" "$@"
