#!/bin/sh
# Makes a test CA and a certificate per NATS node, for nats-cluster.conf's TLS (clients and routes).
#
#   infra/cluster/make-test-ca.sh OUT_DIR [NODE ...]        (nodes default to nats-0 nats-1 nats-2)
#
# Writes OUT_DIR/ca.crt, OUT_DIR/ca.key and, per node, OUT_DIR/<node>.crt and OUT_DIR/<node>.key (keys 0600).
# Each node's certificate names localhost, 127.0.0.1, <node> and <node>.nats (a StatefulSet `nats` behind
# a headless service `nats`), and serves both as a server and a client certificate, since a node is a
# TLS client on the routes it dials. Add names with NATS_CERT_EXTRA_SANS="DNS:nats.example.com,IP:10.0.0.5".
# For tests and trials only: a production CA keeps its key offline and its certificates shorter-lived.
set -eu

if [ $# -lt 1 ]; then
  echo "usage: $0 OUT_DIR [NODE ...]" >&2
  exit 2
fi
out=$1
shift
[ $# -gt 0 ] || set -- nats-0 nats-1 nats-2
command -v openssl >/dev/null 2>&1 || { echo "$0: openssl is not on PATH" >&2; exit 1; }

mkdir -p "$out"
umask 077
days=${NATS_CERT_DAYS:-30}

# P-256 keys: small and fast to handshake.
openssl ecparam -name prime256v1 -genkey -noout -out "$out/ca.key"
openssl req -x509 -new -key "$out/ca.key" -sha256 -days "$days" -subj "/O=ForgeOne test/CN=ForgeOne test NATS CA" \
  -addext "basicConstraints=critical,CA:TRUE,pathlen:0" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -out "$out/ca.crt" 2>/dev/null

for node in "$@"; do
  case $node in
    *[!A-Za-z0-9.-]* | '') echo "$0: node name \"$node\" may hold only letters, digits, '.' and '-'" >&2; exit 2 ;;
  esac
  sans="DNS:localhost,IP:127.0.0.1,DNS:$node,DNS:$node.nats"
  [ -z "${NATS_CERT_EXTRA_SANS:-}" ] || sans="$sans,$NATS_CERT_EXTRA_SANS"
  ext="$out/$node.ext"
  printf '%s\n' \
    "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature,keyEncipherment" \
    "extendedKeyUsage=serverAuth,clientAuth" \
    "subjectAltName=$sans" >"$ext"
  openssl ecparam -name prime256v1 -genkey -noout -out "$out/$node.key"
  openssl req -new -key "$out/$node.key" -subj "/O=ForgeOne test/CN=$node" -out "$out/$node.csr" 2>/dev/null
  openssl x509 -req -in "$out/$node.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" -CAcreateserial -sha256 -days "$days" \
    -extfile "$ext" -out "$out/$node.crt" 2>/dev/null
  rm -f "$out/$node.csr" "$ext"
done
rm -f "$out/ca.srl"
# Certificates are public; keys stay 0600.
chmod 0644 "$out"/*.crt
echo "CA and certificates for $* in $out"
