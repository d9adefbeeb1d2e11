package mom

import (
	"errors"
	"fmt"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/atlas-gateway/atlas/internal/datadir"
)

// rpcError turns a failed RPC into a message that says what to do. what
// names the operation, e.g. `apply adapter "stripe"`.
func (s *adminSession) rpcError(what string, err error) error {
	st, ok := status.FromError(err)
	if !ok {
		return fmt.Errorf("%s: %w", what, err)
	}
	addr := s.opts.addr
	msg := st.Message()
	switch st.Code() {
	case codes.Unavailable:
		if strings.Contains(msg, "connection refused") {
			return fmt.Errorf("cannot reach the Atlas admin API at %s (connection refused); start the server with `bin/atlas run -f FILE` (admin port: spec.exposedPorts.adminPort, 9000) or pass --admin", addr)
		}
		return fmt.Errorf("cannot reach the Atlas admin API at %s: %s; check that the server runs and that --admin names its admin port (spec.exposedPorts.adminPort)", addr, msg)
	case codes.DeadlineExceeded:
		return fmt.Errorf("%s: the Atlas admin API at %s did not answer within %s; check that --admin names the admin port (spec.exposedPorts.adminPort), not another port", what, addr, adminTimeout)
	case codes.Unauthenticated:
		reason, _, _ := strings.Cut(msg, "; ") // the rest is how to send a token, which mom does
		return s.unauthenticated(reason)
	case codes.PermissionDenied:
		return fmt.Errorf("%s: permission denied by the Atlas admin API at %s: %s", what, addr, msg)
	case codes.InvalidArgument:
		return invalidArgument(what, st)
	case codes.NotFound, codes.FailedPrecondition, codes.AlreadyExists:
		return fmt.Errorf("%s: %s", what, msg)
	case codes.Unimplemented:
		return fmt.Errorf("%s: the server at %s does not implement it (%s); is --admin the admin port of an Atlas with the admin API?", what, addr, msg)
	default:
		return fmt.Errorf("%s: %s: %s", what, st.Code(), msg)
	}
}

// unauthenticated names where the rejected token came from and how to fix it.
func (s *adminSession) unauthenticated(msg string) error {
	addr, file := s.opts.addr, datadir.TokenFile(s.opts.dataDir)
	switch {
	case s.token.fromEnv:
		return fmt.Errorf("the Atlas admin API at %s rejected the token from %s (%s); set it to the token the server runs with (its $%s, or the content of its DATA_DIR/admin-token), or unset it to use %s", addr, s.token.from, msg, datadir.EnvAdminToken, file)
	case s.token.value != "":
		return fmt.Errorf("the Atlas admin API at %s rejected the token read from %s (%s); that file belongs to another server or an earlier start: pass the server's --data-dir, or set $%s to the token the server runs with", addr, s.token.from, msg, datadir.EnvAdminToken)
	default:
		return fmt.Errorf("the Atlas admin API at %s wants a token (%s): set $%s, or pass the server's --data-dir so mom reads %s", addr, msg, datadir.EnvAdminToken, file)
	}
}

// invalidArgument prints each field violation of the google.rpc.BadRequest
// detail on its own line, after the first line of the server's message
// (the rest of which lists the same violations). Without the detail, the
// whole message is printed.
func invalidArgument(what string, st *status.Status) error {
	var lines []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				lines = append(lines, fmt.Sprintf("\n  %s: %s", v.GetField(), v.GetDescription()))
			}
		}
	}
	if len(lines) == 0 {
		return fmt.Errorf("%s: %s", what, st.Message())
	}
	summary, _, _ := strings.Cut(st.Message(), "\n")
	return errors.New(what + ": " + strings.TrimSuffix(summary, ":") + ":" + strings.Join(lines, ""))
}
