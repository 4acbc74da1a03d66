#!/usr/bin/env bash
# Regenerates rpc/carehex/v1/*.pb.go and *.twirp.go, and the browser's Twirp
# client web/static/gen/carehex.js, from the .proto files with pinned
# generators: protoc from Debian bookworm (libprotoc 3.21.12), the
# protoc-gen-go / protoc-gen-twirp versions pinned by go.mod's tool directives,
# and this module's own cmd/protoc-gen-twirpjs.
set -euo pipefail
cd "$(dirname "$0")/.."

want="libprotoc 3.21.12"
if ! command -v protoc >/dev/null || [ "$(protoc --version)" != "$want" ]; then
  echo "generate: need protoc ($want); run: apt-get install -y protobuf-compiler" >&2
  exit 1
fi

bin="$(mktemp -d)"
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/protoc-gen-go" google.golang.org/protobuf/cmd/protoc-gen-go
go build -o "$bin/protoc-gen-twirp" github.com/twitchtv/twirp/protoc-gen-twirp
go build -o "$bin/protoc-gen-twirpjs" ./cmd/protoc-gen-twirpjs

protoc -I rpc -I /usr/include \
  --plugin=protoc-gen-go="$bin/protoc-gen-go" --plugin=protoc-gen-twirp="$bin/protoc-gen-twirp" \
  --go_out=rpc --go_opt=paths=source_relative \
  --twirp_out=rpc --twirp_opt=paths=source_relative \
  rpc/carehex/v1/*.proto

mkdir -p web/static/gen
protoc -I rpc -I /usr/include \
  --plugin=protoc-gen-twirpjs="$bin/protoc-gen-twirpjs" \
  --twirpjs_out=web/static/gen \
  rpc/carehex/v1/*.proto
