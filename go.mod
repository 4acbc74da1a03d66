module github.com/carehex/carehex

go 1.26.0

require (
	github.com/jackc/pgx/v5 v5.12.0
	github.com/twitchtv/twirp v8.1.3+incompatible
	github.com/uber/h3-go/v4 v4.5.0
	google.golang.org/protobuf v1.36.12
)

require (
	github.com/jackc/pgpassfile v1.0.0 // indirect
	github.com/jackc/pgservicefile v0.0.0-20240606120523-5a60cdf6a761 // indirect
	github.com/pkg/errors v0.9.1 // indirect
	github.com/stretchr/testify v1.12.1 // indirect
	golang.org/x/text v0.43.0 // indirect
)

tool (
	github.com/twitchtv/twirp/protoc-gen-twirp
	google.golang.org/protobuf/cmd/protoc-gen-go
)
