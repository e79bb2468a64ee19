// h2spec, the HTTP/2 conformance tester, for libs/grpc's integration test; built by tool.mjs.
// v2.2.1 is the newest version the Go module proxy serves (later tags added a go.mod without a /v2
// suffix, which makes them invalid module versions). It has no go.mod of its own, so its dependencies
// are pinned here to the versions h2spec's later go.mod names, the revisions of its Gopkg.lock (x/net
// of 2016: the HTTP/2 framer its releases were built with), not resolved to whatever is newest.
module github.com/aiochestrator/aiochestrator/deploy/local/h2spec

go 1.24

tool github.com/summerwind/h2spec/cmd/h2spec

require (
	github.com/fatih/color v0.0.0-20161025120501-bf82308e8c85 // indirect
	github.com/inconshreveable/mousetrap v1.0.0 // indirect
	github.com/mattn/go-colorable v0.1.0 // indirect
	github.com/mattn/go-isatty v0.0.4 // indirect
	github.com/spf13/cobra v0.0.0-20170118185516-dc208f4211e7 // indirect
	github.com/spf13/pflag v1.0.3 // indirect
	github.com/summerwind/h2spec v2.2.1+incompatible // indirect
	golang.org/x/net v0.0.0-20161104230106-55a3084c9119 // indirect
	golang.org/x/sys v0.1.0 // indirect
)
