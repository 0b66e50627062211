#!/bin/sh
# Makes the certificates of the TLS tests in DIR with the openssl CLI
# (Debian 12: OpenSSL 3.0). Every key is EC P-256 (fast to make).
#   ca.pem                the test CA
#   other-ca.pem          another CA, which signed nothing the server shows
#   server.pem/.key       127.0.0.1 and localhost, valid for 2 days, signed by ca
#   wronghost.pem/.key    wrong.example.com only, signed by ca
#   expired.pem/.key      127.0.0.1 and localhost, valid 2020-01-01..2020-01-02,
#                         signed by ca (`openssl ca` takes a start date in the past)
# Usage: make_test_certs.sh DIR   (DIR exists; files in it are replaced)
set -eu
dir=$1
cd "$dir"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

mkca() {  # mkca NAME CN
  key "$1.key"
  openssl req -x509 -new -key "$1.key" -sha256 -days 3 -subj "/CN=$2" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$1.pem"
}
mkca ca "deltaport test CA"
mkca other-ca "another test CA"

csr() {  # csr NAME CN SAN
  key "$1.key"
  openssl req -new -key "$1.key" -subj "/CN=$2" -addext "subjectAltName=$3" \
    -addext "extendedKeyUsage=serverAuth" -out "$1.csr"
}
csr server localhost "IP:127.0.0.1,DNS:localhost"
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -sha256 \
  -copy_extensions copy -out server.pem 2>/dev/null
csr wronghost wrong.example.com "DNS:wrong.example.com"
openssl x509 -req -in wronghost.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -sha256 \
  -copy_extensions copy -out wronghost.pem 2>/dev/null

# An expired certificate: `openssl ca` accepts explicit start and end dates.
csr expired localhost "IP:127.0.0.1,DNS:localhost"
mkdir -p ca-db
: >ca-db/index.txt
echo 1000 >ca-db/serial
cat >ca-db/ca.cnf <<CNF
[ ca ]
default_ca = test_ca
[ test_ca ]
dir = $dir/ca-db
database = \$dir/index.txt
new_certs_dir = \$dir
serial = \$dir/serial
default_md = sha256
policy = any
copy_extensions = copy
unique_subject = no
[ any ]
commonName = supplied
CNF
openssl ca -batch -config ca-db/ca.cnf -cert ca.pem -keyfile ca.key -in expired.csr \
  -startdate 20200101000000Z -enddate 20200102000000Z -notext -out expired.pem 2>/dev/null
rm -f ./*.csr
echo "make_test_certs: ca other-ca server wronghost expired in $dir"
