//go:build tools

// Package tools pins the binary this module builds (see go.mod); `make tools` builds it.
package tools

import _ "github.com/argoproj/argo-events/cmd"
