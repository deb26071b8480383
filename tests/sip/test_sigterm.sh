#!/usr/bin/env bash
# test_sigterm - SIGINT and SIGTERM stop the daemon with exit status 0 and
# no sanitizer report, also with bindings stored and a client's TCP
# connection still open.
. "$(dirname "$0")/lib.sh"

kv_conf_transports
kv_conf_user 1001
csv=$(kv_csv 1001)

kvd_start
kv_sipp_ok "SIPp: register over UDP" reg_200.xml "$csv"
kvd_stop INT

kvd_start
SIPP_T=t1 kv_sipp_ok "SIPp: register over TCP" reg_200.xml "$csv"
# A client that keeps its connection open (and half a request in it) until
# it is killed: shutdown must not wait for it nor leak its buffers.
kv_bg python3 - "$KV_PORT" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1;bran")
print("connected", flush=True)
time.sleep(60)
PY
kv_wait_file "$KV_BG_OUT" connected
kvd_stop TERM

kvd_start
kvd_stop TERM
kv_pass
