package mom

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// json reports whether -o json was asked for.
func (s *adminSession) json() bool { return s.opts.output == "json" }

// printJSON writes m as one protojson document (unpopulated fields left
// out), indented by encoding/json because protojson's own spacing varies
// from build to build on purpose.
func (s *adminSession) printJSON(m proto.Message) error {
	b, err := protojson.MarshalOptions{EmitUnpopulated: false}.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode JSON: %w", err)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return fmt.Errorf("encode JSON: %w", err)
	}
	out.WriteByte('\n')
	_, err = s.stdout.Write(out.Bytes())
	return err
}

// printJSONList writes {"key": [m...]} as one JSON document, for commands
// that make several RPCs (apply of several adapters).
func (s *adminSession) printJSONList(key string, ms []proto.Message) error {
	items := make([]json.RawMessage, 0, len(ms))
	for _, m := range ms {
		b, err := protojson.Marshal(m)
		if err != nil {
			return fmt.Errorf("encode JSON: %w", err)
		}
		items = append(items, b)
	}
	b, err := json.MarshalIndent(map[string][]json.RawMessage{key: items}, "", "  ")
	if err != nil {
		return fmt.Errorf("encode JSON: %w", err)
	}
	_, err = fmt.Fprintf(s.stdout, "%s\n", b)
	return err
}

// table writes tab-separated rows as aligned columns.
func table(w io.Writer, header string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// age formats how long ago t was, kubectl style: 45s, 12m, 3h4m, 5d.
func age(t *timestamppb.Timestamp) string {
	if t == nil || !t.IsValid() || t.AsTime().IsZero() {
		return "-"
	}
	d := max(time.Since(t.AsTime()), 0)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%dm", int(d.Hours()), int(d.Minutes())%60)
	default:
		return fmt.Sprintf("%dd", int(d.Hours())/24)
	}
}

// timeAndAge formats t as RFC 3339 followed by its age.
func timeAndAge(t *timestamppb.Timestamp) string {
	if age(t) == "-" {
		return "-"
	}
	return fmt.Sprintf("%s (%s ago)", t.AsTime().UTC().Format(time.RFC3339), age(t))
}

// orDash shows an empty value as "-".
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
