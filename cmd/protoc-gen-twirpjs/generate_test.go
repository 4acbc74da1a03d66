package main

import (
	"os"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/pluginpb"

	pb "github.com/carehex/carehex/rpc/carehex/v1"
)

// run feeds the plugin the carehex.v1 files as protoc would (dependencies
// first) and returns the module it writes. The compiled-in descriptors carry
// no comments, so the JSDoc prose is absent; the code is the same.
func run(t *testing.T) string {
	t.Helper()
	req := &pluginpb.CodeGeneratorRequest{}
	seen := map[string]bool{}
	var add func(fd protoreflect.FileDescriptor)
	add = func(fd protoreflect.FileDescriptor) {
		if seen[fd.Path()] {
			return
		}
		seen[fd.Path()] = true
		imports := fd.Imports()
		for i := range imports.Len() {
			add(imports.Get(i).FileDescriptor)
		}
		req.ProtoFile = append(req.ProtoFile, protodesc.ToFileDescriptorProto(fd))
	}
	var paths []string
	protoregistry.GlobalFiles.RangeFilesByPackage("carehex.v1", func(fd protoreflect.FileDescriptor) bool {
		paths = append(paths, fd.Path())
		return true
	})
	slices.Sort(paths)
	for _, p := range paths {
		fd, err := protoregistry.GlobalFiles.FindFileByPath(p)
		if err != nil {
			t.Fatal(err)
		}
		add(fd)
	}
	req.FileToGenerate = paths
	gen, err := protogen.Options{}.New(req)
	if err != nil {
		t.Fatal(err)
	}
	var files []*protogen.File
	for _, f := range gen.Files {
		if f.Generate {
			files = append(files, f)
		}
	}
	g := gen.NewGeneratedFile("carehex.js", "")
	if err := generate(g, files); err != nil {
		t.Fatal(err)
	}
	resp := gen.Response()
	if resp.Error != nil || len(resp.File) != 1 {
		t.Fatalf("response: error %v, %d files", resp.GetError(), len(resp.File))
	}
	return resp.File[0].GetContent()
}

func TestEveryRPCHasOneMethod(t *testing.T) {
	out := run(t)
	n := 0
	protoregistry.GlobalFiles.RangeFilesByPackage("carehex.v1", func(fd protoreflect.FileDescriptor) bool {
		for i := range fd.Services().Len() {
			s := fd.Services().Get(i)
			if !strings.Contains(out, "export class "+string(s.Name())+" {") {
				t.Errorf("no class for %s", s.FullName())
			}
			for j := range s.Methods().Len() {
				m := s.Methods().Get(j)
				want := lowerFirst(string(m.Name())) + `(req = {}) { return call(this.opts, "` + string(s.FullName()) + `", "` + string(m.Name()) + `", req); }`
				if strings.Count(out, want) != 1 {
					t.Errorf("want exactly one %q", want)
				}
				n++
			}
		}
		return true
	})
	if n == 0 {
		t.Fatal("no RPCs found")
	}
	if got := strings.Count(out, "return call("); got != n {
		t.Errorf("%d calls to the transport, want one per RPC (%d)", got, n)
	}
}

func TestDeterministic(t *testing.T) {
	// Two separate generator runs: the output must not depend on map order.
	first, second := run(t), run(t)
	if first != second {
		t.Error("two runs gave different output")
	}
}

// TestCommittedClientCurrent: the module the console loads has every
// method the protos define (make generate refreshes it; make check-generate
// compares it byte for byte).
func TestCommittedClientCurrent(t *testing.T) {
	committed, err := os.ReadFile("../../web/static/gen/carehex.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(run(t), "\n") {
		if strings.Contains(line, "return call(") && !strings.Contains(string(committed), line) {
			t.Errorf("web/static/gen/carehex.js lacks %q; run make generate", strings.TrimSpace(line))
		}
	}
}

func TestFieldTypes(t *testing.T) {
	md := (&descriptorpb.FileDescriptorProto{}).ProtoReflect().Descriptor()
	tests := map[string]string{
		"name":              "string",
		"dependency":        "Array<string>",
		"message_type":      "Array<google.protobuf.DescriptorProto>",
		"options":           "google.protobuf.FileOptions",
		"public_dependency": "Array<number>",
	}
	for field, want := range tests {
		if got := fieldType(md.Fields().ByName(protoreflect.Name(field))); got != want {
			t.Errorf("fieldType(%s) = %q, want %q", field, got, want)
		}
	}
	// Timestamps travel as RFC 3339 strings, enums as their value names.
	if got := fieldType((&pb.Alert{}).ProtoReflect().Descriptor().Fields().ByName("create_time")); got != "string" {
		t.Errorf("fieldType(Alert.create_time) = %q, want string", got)
	}
	st := (&pb.ListServiceRequestsRequest{}).ProtoReflect().Descriptor().Fields().ByName("statuses")
	if got := fieldType(st); got != "Array<carehex.v1.RequestStatus>" {
		t.Errorf("fieldType(statuses) = %q", got)
	}
}
