package admin

import (
	"fmt"
	"strconv"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// violation is one problem with one request field.
type violation struct{ field, description string }

// invalidArgument is an InvalidArgument status whose message lists every
// problem and whose google.rpc.BadRequest detail has one field violation
// per problem.
func invalidArgument(what string, vs ...violation) error {
	lines := make([]string, len(vs))
	br := &errdetails.BadRequest{}
	for i, v := range vs {
		lines[i] = v.field + ": " + v.description
		br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: v.field, Description: v.description})
	}
	st := status.New(codes.InvalidArgument, what+":\n"+strings.Join(lines, "\n"))
	if withDetail, err := st.WithDetails(br); err == nil {
		st = withDetail
	}
	return st.Err()
}

// problemLines splits a joined validation error into its lines.
func problemLines(err error) []string {
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	var out []string
	for _, e := range errs {
		for _, l := range strings.Split(e.Error(), "\n") {
			if l = strings.TrimSpace(l); l != "" {
				out = append(out, l)
			}
		}
	}
	return out
}

// violations maps validation problems to request fields: a problem at
// "api adapter NAME:LINE: msg" of the candidate document becomes a violation
// of the field that line was written from, with msg as its description; any
// other problem (the file, another adapter) is reported on "adapter" as is.
func violations(err error, name string, fields map[int]string) []violation {
	prefix := fmt.Sprintf("api adapter %s:", name)
	var out []violation
	for _, l := range problemLines(err) {
		v := violation{field: "adapter", description: l}
		if rest, ok := strings.CutPrefix(l, prefix); ok {
			if num, msg, ok := strings.Cut(rest, ": "); ok {
				if n, err := strconv.Atoi(num); err == nil {
					v.description = msg
					if f, ok := fields[n]; ok {
						v.field = f
					}
				}
			}
		}
		out = append(out, v)
	}
	if len(out) == 0 { // an error with no text still must not pass
		out = append(out, violation{"adapter", "the configuration is invalid (the validator gave no details)"})
	}
	return out
}
