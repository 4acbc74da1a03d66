// Command protoc-gen-twirpjs is a protoc plugin that writes one ES module
// with a JavaScript client for every Twirp service in the files it is given:
// a class per service, an async method per RPC, all going through one shared
// transport function. The browser console imports it (web/static/gen/), so no
// page hand-writes a fetch per RPC.
//
//	protoc -I rpc --plugin=protoc-gen-twirpjs=BIN --twirpjs_out=web/static/gen rpc/carehex/v1/*.proto
//
// The option file=NAME (default carehex.js) names the module.
package main

import (
	"flag"

	"google.golang.org/protobuf/compiler/protogen"
)

func main() {
	var flags flag.FlagSet
	file := flags.String("file", "carehex.js", "name of the generated module")
	protogen.Options{ParamFunc: flags.Set}.Run(func(gen *protogen.Plugin) error {
		var files []*protogen.File
		for _, f := range gen.Files {
			if f.Generate {
				files = append(files, f)
			}
		}
		g := gen.NewGeneratedFile(*file, "")
		return generate(g, files)
	})
}
