#!/bin/sh
# A Postfix instance on a loopback address with STARTTLS from the test CA,
# for trying the smtp probe against a real MTA by hand (and, later, for the
# end-to-end suite). It installs nothing: Debian's postfix package must be
# there already (apt-get install --no-install-recommends postfix).
#
#   internal/testbed/postfix/postfix-test.sh start   # configure and start
#   internal/testbed/postfix/postfix-test.sh probe   # run the probe against it
#   internal/testbed/postfix/postfix-test.sh stop    # stop it
#
# Settings (environment): POSTFIX_TEST_DIR (default /tmp/postfix-test),
# POSTFIX_TEST_ADDR (127.0.0.25), POSTFIX_TEST_PORT (25; any port works, the
# probe test is told which), POSTFIX_TEST_NAME (mx.postfix.test).
# Run from the repository root, as root (Postfix starts its master as root
# and drops to the postfix user).
set -eu

DIR=${POSTFIX_TEST_DIR:-/tmp/postfix-test}
ADDR=${POSTFIX_TEST_ADDR:-127.0.0.25}
PORT=${POSTFIX_TEST_PORT:-25}
NAME=${POSTFIX_TEST_NAME:-mx.postfix.test}
DOMAIN=${NAME#*.}
CONF=$DIR/config

need() {
	command -v "$1" >/dev/null 2>&1 || {
		echo "postfix-test: $1 not found; install Debian's postfix package first" >&2
		exit 1
	}
}

start() {
	need postfix
	need postconf
	need postalias
	mkdir -p "$CONF" "$DIR/queue" "$DIR/data" "$DIR/tls"
	go run ./internal/testbed/cmd/testcert -dir "$DIR/tls" -name "$NAME"

	# master.cf: Debian's, with one smtpd on ADDR:PORT and no chroot (a
	# chroot would need copies of /etc files in the queue directory). That
	# service binds ADDR itself: inet_interfaces stays loopback-only, since
	# Postfix refuses addresses that are not configured on an interface,
	# and only 127.0.0.1 is, though all of 127.0.0.0/8 reaches lo.
	cp /etc/postfix/master.cf "$CONF/master.cf"
	postconf -c "$CONF" -M# smtp/inet >/dev/null 2>&1 || true
	postconf -c "$CONF" -M "$ADDR:$PORT/inet=$ADDR:$PORT inet n - n - - smtpd"
	postconf -c "$CONF" -F '*/*/chroot = n'

	printf 'postmaster: root\nabuse: root\n' >"$CONF/aliases"
	: >"$CONF/main.cf"
	postconf -c "$CONF" -e \
		"compatibility_level = 3.6" \
		"queue_directory = $DIR/queue" \
		"data_directory = $DIR/data" \
		"maillog_file = $DIR/maillog" \
		"maillog_file_prefixes = $DIR" \
		"myhostname = $NAME" \
		"mydomain = $DOMAIN" \
		"myorigin = \$mydomain" \
		"mydestination = \$myhostname, \$mydomain" \
		"inet_interfaces = loopback-only" \
		"inet_protocols = ipv4" \
		"mynetworks = 192.0.2.1/32" \
		"smtpd_banner = \$myhostname ESMTP" \
		"smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination" \
		"smtpd_tls_security_level = may" \
		"smtpd_tls_chain_files = $DIR/tls/key.pem, $DIR/tls/cert.pem" \
		"smtpd_tls_auth_only = yes" \
		"smtpd_tls_protocols = >=TLSv1.2" \
		"alias_maps = hash:$CONF/aliases" \
		"alias_database = hash:$CONF/aliases" \
		"default_transport = error:this test instance delivers nothing" \
		"local_transport = error:this test instance delivers nothing"
	postalias -c "$CONF" "$CONF/aliases"
	# The master creates its lock file there after dropping to mail_owner.
	chown "$(postconf -c "$CONF" -h mail_owner)" "$DIR/data"
	postfix -c "$CONF" check
	postfix -c "$CONF" start
	echo "postfix-test: $NAME on $ADDR:$PORT, files in $DIR (log: $DIR/maillog)"
}

probe() {
	SMTP_POSTFIX_ADDR=$ADDR:$PORT SMTP_POSTFIX_NAME=$NAME SMTP_POSTFIX_CA=$DIR/tls/ca.pem \
		go test -count=1 -run TestPostfix -v ./probes/smtp/
	# Postfix counts the commands of each session in its "disconnect"
	# line (ehlo=2 starttls=1 mail=1 rcpt=3 rset=1 quit=1): no data=.
	if [ -f "$DIR/maillog" ] && grep -q ' data=' "$DIR/maillog"; then
		echo "postfix-test: the log shows a DATA command" >&2
		exit 1
	fi
}

stop() {
	postfix -c "$CONF" stop
}

case ${1:-} in
start) start ;;
probe) probe ;;
stop) stop ;;
*)
	echo "usage: $0 start|probe|stop" >&2
	exit 2
	;;
esac
